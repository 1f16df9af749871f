/**
 * RETRY, the body of a RETRY packet: the server's stateless cookie. The client repeats its
 * CLIENT HELLO with this cookie; the server keeps no state until then.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       cookie length (16)      |  cookie (1..64 bytes) ...     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { Reader, WireError, Writer } from './buf.js';
import { MAX_COOKIE } from './clientHello.js';

export interface Retry {
  cookie: Uint8Array;
}

export function encodeRetry(w: Writer, m: Retry): void {
  if (m.cookie.length > MAX_COOKIE) throw new WireError('field too long');
  w.u16(m.cookie.length).bytes(m.cookie);
}

export function decodeRetry(r: Reader): Retry {
  const len = r.u16();
  if (len === 0 || len > MAX_COOKIE) throw new WireError('bad-length');
  return { cookie: r.bytes(len) };
}
