import { createHmac, randomBytes } from 'node:crypto';

/** A cookie stays valid for the minute it was made in and the one after (libsrt: current and previous). */
const BUCKET_MS = 60_000;

/**
 * SYN cookies for the induction phase, as libsrt bakes them: a MAC of the caller's address
 * and port and the current minute under a per-process secret. The listener keeps no state
 * for a caller until it returns a cookie that checks, so spoofed inductions cost nothing.
 */
export class Cookie {
  private readonly secret: Buffer;

  constructor(secret?: Uint8Array) {
    this.secret = Buffer.from(secret ?? randomBytes(32));
  }

  make(address: string, port: number, now: number): number {
    return this.bake(address, port, Math.floor(now / BUCKET_MS));
  }

  check(cookie: number, address: string, port: number, now: number): boolean {
    const bucket = Math.floor(now / BUCKET_MS);
    return cookie === this.bake(address, port, bucket) || cookie === this.bake(address, port, bucket - 1);
  }

  private bake(address: string, port: number, bucket: number): number {
    return createHmac('sha256', this.secret).update(`${address}\n${port}\n${bucket}`).digest().readUInt32BE(0);
  }
}
