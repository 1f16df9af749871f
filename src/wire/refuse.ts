/**
 * REFUSE, the body of a REFUSE packet (packet number 0): the server will not take this CLIENT
 * HELLO and says why, so the client can stop and tell its user instead of timing out.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          code (16)            | reason len (8)|  reason ...   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * code: RefuseCode below (the same space as CLOSE codes). Not authenticated (no keys exist
 * yet): a client accepts it only while its handshake is unanswered, for its own session id,
 * which an off-path attacker does not know.
 */
import { Reader, WireError, Writer } from './buf.js';

export const RefuseCode = {
  /** The client asked for less encryption than the server's minimum. */
  ENCRYPTION: 4,
} as const;

export interface Refuse {
  code: number;
  reason: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

export function encodeRefuse(w: Writer, m: Refuse): void {
  const bytes = enc.encode(m.reason).subarray(0, 255);
  w.u16(m.code).u8(bytes.length).bytes(bytes);
}

export function decodeRefuse(r: Reader): Refuse {
  const code = r.u16();
  const len = r.u8();
  if (len === 0) throw new WireError('bad-length');
  return { code, reason: dec.decode(r.bytes(len)) };
}

/** Bytes of a REFUSE body with this reason. */
export function refuseLength(reason: string): number {
  return 3 + Math.min(255, enc.encode(reason).length);
}
