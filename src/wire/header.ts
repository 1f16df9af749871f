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
 * Handshake packets (INITIAL, RETRY, SERVER_HELLO, REFUSE) end the header after the packet number
 * (14 bytes). PROTECTED packets add `clear length`: how many bytes of frames follow in clear
 * before the encrypted section (16 bytes in all). The whole header is authenticated.
 */
import { Reader, WireError, Writer } from './buf.js';

/** 2: SERVER HELLO carries the server's static key (mixed into the keys), and REFUSE exists. */
export const VERSION = 2;
export const PacketType = { INITIAL: 1, RETRY: 2, SERVER_HELLO: 3, PROTECTED: 4, REFUSE: 5 } as const;
export type PacketTypeCode = (typeof PacketType)[keyof typeof PacketType];

export const SHORT_HEADER_LEN = 14;
export const PROTECTED_HEADER_LEN = 16;
/** No datagram larger than this is accepted or produced. */
export const MAX_DATAGRAM = 1500;

export interface Header {
  version: number;
  type: PacketTypeCode;
  sessionId: bigint;
  packetNumber: number;
  /** PROTECTED only. */
  clearLength: number;
}

export function encodeHeader(w: Writer, h: Header): void {
  w.u8(h.version).u8(h.type).u64(h.sessionId).u32(h.packetNumber);
  if (h.type === PacketType.PROTECTED) w.u16(h.clearLength);
}

/** Checks version and type; the caller checks clearLength against the datagram. */
export function decodeHeader(r: Reader): Header {
  const version = r.u8();
  if (version !== VERSION) throw new WireError('bad-version');
  const type = r.u8();
  if (type < PacketType.INITIAL || type > PacketType.REFUSE) throw new WireError('bad-type');
  const sessionId = r.u64();
  const packetNumber = r.u32();
  const clearLength = type === PacketType.PROTECTED ? r.u16() : 0;
  return { version, type: type as PacketTypeCode, sessionId, packetNumber, clearLength };
}

/** Reads the session id without decoding the rest (used by the endpoint to demux). */
export function peekSessionId(data: Uint8Array): bigint | undefined {
  if (data.length < SHORT_HEADER_LEN) return undefined;
  const r = new Reader(data, 2);
  return r.u64();
}
