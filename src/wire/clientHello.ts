/**
 * CLIENT HELLO, the body of an INITIAL packet (packet number 0). The datagram is padded with
 * zeros to at least 1200 bytes so a server may answer an unvalidated address (3x rule).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   mode (8)    | identity len 8|        cookie length (16)     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              client X25519 public key (256)                   |
 * |              client random (256)                              |
 * |              identity (0..255 bytes, e.g. "app/stream")       |
 * |              cookie (0..64 bytes, from a RETRY)               |
 * |              zero padding                                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * mode: 0 none, 1 headers, 2 all (the encryption the client asks for).
 */
import { Reader, WireError, Writer } from './buf.js';

export const MIN_INITIAL_SIZE = 1200;
export const MAX_COOKIE = 64;

export interface ClientHello {
  mode: number;
  publicKey: Uint8Array;
  random: Uint8Array;
  identity: Uint8Array;
  cookie: Uint8Array;
}

export function encodeClientHello(w: Writer, m: ClientHello): void {
  if (m.identity.length > 255 || m.cookie.length > MAX_COOKIE) throw new WireError('field too long');
  w.u8(m.mode).u8(m.identity.length).u16(m.cookie.length);
  w.bytes(m.publicKey).bytes(m.random).bytes(m.identity).bytes(m.cookie);
}

export function decodeClientHello(r: Reader): ClientHello {
  const mode = r.u8();
  if (mode > 2) throw new WireError('bad-mode');
  const idLen = r.u8();
  const cookieLen = r.u16();
  if (cookieLen > MAX_COOKIE) throw new WireError('bad-length');
  const publicKey = r.bytes(32);
  const random = r.bytes(32);
  const identity = r.bytes(idLen);
  const cookie = r.bytes(cookieLen);
  return { mode, publicKey, random, identity, cookie };
}
