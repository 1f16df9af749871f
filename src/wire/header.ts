/**
 * The common packet header, in clear on every packet.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  version (8)  | packet type(8)|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                       session id (64)                         |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                     packet number (32)                        |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |  clear length (16, PROTECTED) |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * That is the long header of handshake packets (INITIAL, RETRY, SERVER_HELLO, REFUSE): it
 * ends after the packet number (14 bytes). PROTECTED packets, from version 3 on, have the
 * short header instead (11 to 15 bytes); the session knows its version from the handshake:
 *
 *  0 1 2 3 4 5 6 7
 * +-+-+-+-+-+-+-+-+-----------------------------------------------+
 * |1|0 0 0 0 0|C|P| session id (64) | packet number (16, or 32 if P)|
 * +-+-+-+-+-+-+-+-+-----------------------------------------------+
 * | clear length (16, if C) |
 * +-------------------------+
 *
 * The first byte's top bit tells the forms apart (a version byte is below 0x80). P: the packet
 * number is written whole (32 bits), else its low 16 bits, which the receiver expands to the
 * number nearest the largest it has seen (expandPacketNumber). C: `clear length` follows: how
 * many bytes of frames are in clear before the encrypted section; present in the encryption
 * mode 'headers' only (in 'all' nothing is in clear, in 'none' everything is). The whole
 * header is authenticated.
 */
import { Reader, WireError, Writer } from './buf.js';

/** 2: SERVER HELLO carries the server's static key (mixed into the keys), and REFUSE exists.
 * 3: PROTECTED packets have the short header, and DATA frames the lean form (data.ts). */
export const VERSION = 4;
export const PacketType = { INITIAL: 1, RETRY: 2, SERVER_HELLO: 3, PROTECTED: 4, REFUSE: 5 } as const;
export type PacketTypeCode = (typeof PacketType)[keyof typeof PacketType];

/** The long (handshake) header; also the shortest datagram either side accepts. */
export const SHORT_HEADER_LEN = 14;
/** The longest short header (32-bit packet number and clear length): budgets use it. */
export const PROTECTED_HEADER_LEN = 15;
const SHORT_FORM = 0x80;
const HAS_CLEAR = 0x02;
const LONG_PN = 0x01;
/** No datagram larger than this is accepted or produced. */
export const MAX_DATAGRAM = 1500;

export interface Header {
  version: number;
  type: PacketTypeCode;
  sessionId: bigint;
  packetNumber: number;
  /** PROTECTED only; -1 when the header has none (the mode implies it). */
  clearLength: number;
  /** PROTECTED (decoded): bytes of the packet number on the wire (2: packetNumber is its low 16 bits), and of the header. */
  pnLen?: 2 | 4;
  headerLen?: number;
}

/** Writes a long header; for PROTECTED, the short header with the whole packet number and a clear length. */
export function encodeHeader(w: Writer, h: Header): void {
  if (h.type === PacketType.PROTECTED) {
    encodeShortHeader(w, h.sessionId, h.packetNumber, 4, h.clearLength);
    return;
  }
  w.u8(h.version).u8(h.type).u64(h.sessionId).u32(h.packetNumber);
}

/**
 * Writes a PROTECTED packet's short header: `pnLen` 2 writes the low 16 bits of the packet
 * number (the sender keeps it within 2^14 of the peer's largest acknowledged), `clearLength`
 * < 0 leaves the field out. Returns the header's length.
 */
export function encodeShortHeader(w: Writer, sessionId: bigint, packetNumber: number, pnLen: 2 | 4, clearLength: number): number {
  const start = w.pos;
  w.u8(SHORT_FORM | (clearLength >= 0 ? HAS_CLEAR : 0) | (pnLen === 4 ? LONG_PN : 0)).u64(sessionId);
  if (pnLen === 4) w.u32(packetNumber);
  else w.u16(packetNumber & 0xffff);
  if (clearLength >= 0) w.u16(clearLength);
  return w.pos - start;
}

/**
 * The full packet number a 16-bit truncated one stands for: the one nearest `largest + 1`
 * (QUIC's rule, RFC 9000 appendix A.3). A packet delayed by more than 2^15 numbers comes out
 * wrong and fails authentication, as it should.
 */
export function expandPacketNumber(truncated: number, largest: number): number {
  const expected = largest + 1;
  const win = 0x10000, half = 0x8000;
  const candidate = expected - (expected % win) + truncated;
  if (candidate <= expected - half && candidate + win <= 0xffffffff) return candidate + win;
  if (candidate > expected + half && candidate >= win) return candidate - win;
  return candidate;
}

/** Checks version and type; the caller checks clearLength against the datagram. */
export function decodeHeader(r: Reader): Header {
  const start = r.pos;
  const version = r.u8();
  if (version & SHORT_FORM) {
    if (version & ~(SHORT_FORM | HAS_CLEAR | LONG_PN)) throw new WireError('bad-type');
    const sessionId = r.u64();
    const pnLen = version & LONG_PN ? 4 : 2;
    const packetNumber = pnLen === 4 ? r.u32() : r.u16();
    const clearLength = version & HAS_CLEAR ? r.u16() : -1;
    return { version: VERSION, type: PacketType.PROTECTED, sessionId, packetNumber, clearLength, pnLen, headerLen: r.pos - start };
  }
  if (version !== VERSION) throw new WireError('bad-version');
  const type = r.u8();
  // PROTECTED packets have the short header only.
  if (type < PacketType.INITIAL || type > PacketType.REFUSE || type === PacketType.PROTECTED) throw new WireError('bad-type');
  const sessionId = r.u64();
  const packetNumber = r.u32();
  return { version, type: type as PacketTypeCode, sessionId, packetNumber, clearLength: 0, headerLen: r.pos - start };
}

/** True for a datagram with the short header, that is a PROTECTED packet. */
export function isProtected(data: Uint8Array): boolean {
  return data.length > 0 && (data[0]! & SHORT_FORM) !== 0;
}

/** Reads the session id without decoding the rest (used by the endpoint to demux). */
export function peekSessionId(data: Uint8Array): bigint | undefined {
  if (data.length < SHORT_HEADER_LEN) return undefined;
  const r = new Reader(data, data[0]! & SHORT_FORM ? 1 : 2);
  return r.u64();
}
