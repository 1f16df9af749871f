/**
 * Stateless retry cookies: HMAC-SHA256(secret, path || session id || issue time), truncated to
 * 16 bytes, after the 4-byte issue time in seconds. The secret rotates every `rotateMs`; a
 * cookie verifies against the current or previous secret and for `lifetimeMs` after issue.
 * Holding a valid cookie proves the client receives at its address, which ends the 3x limit.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Random } from './Random.js';

export const COOKIE_LEN = 20;

export class CookieJar {
  private current: Uint8Array;
  private previous: Uint8Array;
  private rotatedAt: number;

  constructor(private readonly random: Random, now: number, private readonly rotateMs = 30_000, private readonly lifetimeMs = 10_000) {
    this.current = random.bytes(32);
    this.previous = random.bytes(32);
    this.rotatedAt = now;
  }

  private rotate(now: number): void {
    if (now - this.rotatedAt < this.rotateMs) return;
    this.previous = this.current;
    this.current = this.random.bytes(32);
    this.rotatedAt = now;
  }

  issue(now: number, path: string, sessionId: bigint): Uint8Array {
    this.rotate(now);
    const out = new Uint8Array(COOKIE_LEN);
    const t = Math.floor(now / 1000) >>> 0;
    new DataView(out.buffer).setUint32(0, t);
    out.set(mac(this.current, path, sessionId, t), 4);
    return out;
  }

  verify(now: number, path: string, sessionId: bigint, cookie: Uint8Array): boolean {
    this.rotate(now);
    if (cookie.length !== COOKIE_LEN) return false;
    const t = new DataView(cookie.buffer, cookie.byteOffset, 4).getUint32(0);
    const age = now / 1000 - t;
    if (age < -1 || age * 1000 > this.lifetimeMs + 1000) return false;
    const got = cookie.subarray(4);
    return timingSafeEqual(got, mac(this.current, path, sessionId, t)) || timingSafeEqual(got, mac(this.previous, path, sessionId, t));
  }
}

function mac(secret: Uint8Array, path: string, sessionId: bigint, t: number): Uint8Array {
  const h = createHmac('sha256', secret).update(path).update(sessionId.toString(16)).update(String(t));
  return new Uint8Array(h.digest().subarray(0, 16));
}
