import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * The RTMP handshake, server side, sans-IO: bytes in, bytes to send out.
 *
 *   C0 (1 byte: version 3) + C1 (1536)  ->  S0 + S1 + S2
 *   C2 (1536)                           ->  done; bytes after C2 are the first chunks
 *
 * Simple handshake: C1 carries no digest (Flash's original form; version field 0); S2 echoes C1.
 * Complex ("digest") handshake, as Flash, OBS (librtmp) and ffmpeg send it: C1 carries an
 * HMAC-SHA256 digest at an offset derived from C1 itself, in one of two layouts (schema 0: key
 * block then digest block; schema 1: digest block first). The server answers with its own
 * digest in S1 and an S2 signed with a key derived from the client's digest; ffmpeg checks both
 * and refuses a server that gets them wrong. A C1 whose digest checks in neither layout gets the
 * simple handshake, which is what every other server does too.
 */

export const HANDSHAKE_SIZE = 1536;
const RTMP_VERSION = 3;
const DIGEST = 32;

const KEY_TAIL = Buffer.from('f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae', 'hex');
/** "Genuine Adobe Flash Media Server 001" + the shared tail; S1 uses the first 36 bytes. */
export const FMS_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001'), KEY_TAIL]);
/** "Genuine Adobe Flash Player 001" + the shared tail; C1 uses the first 30 bytes. */
export const FP_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001'), KEY_TAIL]);
/** Our version field in S1: any value whose first byte is >= 3 tells ffmpeg to check digests. */
const SERVER_VERSION = [0x04, 0x05, 0x00, 0x01];

export type DigestSchema = 0 | 1;

/** Offset of the 32-byte digest inside a 1536-byte C1/S1 for a schema. */
export function digestOffset(block: Uint8Array, schema: DigestSchema): number {
  const base = schema === 0 ? 772 : 8;
  const sum = block[base]! + block[base + 1]! + block[base + 2]! + block[base + 3]!;
  return (sum % 728) + base + 4;
}

/** HMAC-SHA256 of the block with the 32 digest bytes at `offset` left out. */
export function blockDigest(block: Uint8Array, offset: number, key: Uint8Array): Buffer {
  const h = createHmac('sha256', key);
  h.update(block.subarray(0, offset));
  h.update(block.subarray(offset + DIGEST));
  return h.digest();
}

/** The schema whose digest checks out in a client's C1, or undefined (a simple-handshake client). */
export function findClientDigest(c1: Uint8Array): { schema: DigestSchema; digest: Buffer } | undefined {
  for (const schema of [1, 0] as const) {
    const off = digestOffset(c1, schema);
    const want = blockDigest(c1, off, FP_KEY.subarray(0, 30));
    const got = Buffer.from(c1.subarray(off, off + DIGEST));
    if (timingSafeEqual(want, got)) return { schema, digest: got };
  }
  return undefined;
}

/** Writes our digest into S1 (in place) for the client's schema. */
export function signS1(s1: Uint8Array, schema: DigestSchema): void {
  const off = digestOffset(s1, schema);
  s1.set(blockDigest(s1, off, FMS_KEY.subarray(0, 36)), off);
}

/** Signs S2 (in place): its last 32 bytes are HMAC(HMAC(FMS key, client digest), S2 head). */
export function signS2(s2: Uint8Array, clientDigest: Uint8Array): void {
  const key = createHmac('sha256', FMS_KEY).update(clientDigest).digest();
  const sig = createHmac('sha256', key).update(s2.subarray(0, HANDSHAKE_SIZE - DIGEST)).digest();
  s2.set(sig, HANDSHAKE_SIZE - DIGEST);
}

export type HandshakeResult =
  | { kind: 'more' }
  | { kind: 'reply'; data: Uint8Array }
  | { kind: 'done'; rest: Uint8Array }
  | { kind: 'error'; reason: string };

/**
 * One connection's handshake. Call `push(bytes)` with what the socket delivered; send `reply`
 * data; after `done`, hand `rest` to the chunk reader. Buffers at most C0+C1 (1537 bytes).
 */
export class ServerHandshake {
  private readonly buf = new Uint8Array(1 + HANDSHAKE_SIZE);
  private have = 0;
  private stage: 'c0c1' | 'c2' | 'done' | 'failed' = 'c0c1';
  /** Set once C1 has been read: which handshake the client used. */
  complex: DigestSchema | 'simple' | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  get isDone(): boolean {
    return this.stage === 'done';
  }

  /** May return a reply and then, in the same call, completion: so it returns a list. */
  push(data: Uint8Array): HandshakeResult[] {
    const out: HandshakeResult[] = [];
    let pos = 0;
    while (pos < data.length || this.stage === 'done') {
      if (this.stage === 'done') {
        out.push({ kind: 'done', rest: data.subarray(pos) });
        return out;
      }
      if (this.stage === 'failed') return out;
      const need = (this.stage === 'c0c1' ? 1 + HANDSHAKE_SIZE : HANDSHAKE_SIZE) - this.have;
      const take = Math.min(need, data.length - pos);
      this.buf.set(data.subarray(pos, pos + take), this.have);
      this.have += take;
      pos += take;
      if (this.stage === 'c0c1' && this.have >= 1 && this.buf[0] !== RTMP_VERSION) {
        this.stage = 'failed';
        out.push({ kind: 'error', reason: `bad handshake version ${this.buf[0]}` });
        return out;
      }
      if (take < need) break;
      this.have = 0;
      if (this.stage === 'c0c1') {
        out.push({ kind: 'reply', data: this.answer(this.buf.subarray(1)) });
        this.stage = 'c2';
      } else {
        // C2 echoes S1 (simple) or signs it (complex); clients that get it wrong still work
        // with every deployed server, so it is read and not judged.
        this.stage = 'done';
      }
    }
    if (out.length === 0) out.push({ kind: 'more' });
    return out;
  }

  private answer(c1: Uint8Array): Uint8Array {
    const out = new Uint8Array(1 + 2 * HANDSHAKE_SIZE);
    out[0] = RTMP_VERSION;
    const s1 = out.subarray(1, 1 + HANDSHAKE_SIZE);
    const s2 = out.subarray(1 + HANDSHAKE_SIZE);
    s1.set(randomBytes(HANDSHAKE_SIZE));
    new DataView(s1.buffer, s1.byteOffset).setUint32(0, this.now() >>> 0);
    const client = c1[4] !== 0 || c1[5] !== 0 || c1[6] !== 0 || c1[7] !== 0 ? findClientDigest(c1) : undefined;
    if (!client) {
      this.complex = 'simple';
      s1.fill(0, 4, 8);
      s2.set(c1);
      return out;
    }
    this.complex = client.schema;
    s1.set(SERVER_VERSION, 4);
    signS1(s1, client.schema);
    s2.set(randomBytes(HANDSHAKE_SIZE));
    signS2(s2, client.digest);
    return out;
  }
}
