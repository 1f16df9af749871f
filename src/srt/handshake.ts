/**
 * The handshake CIF (draft-sharabayko-srt 3.2.1) and its v5 extensions. 48 bytes:
 * version, encryption field (16) | extension field (16), initial sequence number, MTU,
 * flow window, handshake type, SRT socket id, SYN cookie, peer IP (16 bytes); then extension
 * blocks of type (16) | length in 32-bit words (16) | content.
 *
 * Byte order follows libsrt, not the draft's prose: libsrt turns every control word to network
 * order, so the stream id, which it stores as characters in host-order words, arrives with each
 * 4-byte word reversed; the key material is pre-swapped and arrives as-is.
 */
import { SrtParseError } from './packet.js';

export const HS_CIF_SIZE = 48;
export const SRT_MAGIC = 0x4a17;
export const UDT_DGRAM = 2;
/** libsrt's limit (CSrtConfig::MAX_SID_LENGTH). */
export const MAX_STREAM_ID = 512;

export const HsType = {
  Induction: 1,
  Waveahand: 0,
  Conclusion: 0xffffffff,
  Agreement: 0xfffffffe,
  /** Rejections are 1000 + reason (SRT_REJ_* below, or 1000 + an HTTP-like code). */
  FailureBase: 1000,
} as const;

/** SRT_REJ_* (srt.h) and the predefined server codes (SRT_REJC_PREDEFINED + HTTP status). */
export const Reject = {
  Peer: 2,
  Resource: 3,
  Rogue: 4,
  Backlog: 5,
  Close: 7,
  Version: 8,
  BadSecret: 10,
  Unsecure: 11,
  MessageApi: 12,
  Congestion: 13,
  Filter: 14,
  Crypto: 17,
  BadRequest: 1400,
  Unauthorized: 1401,
  Forbidden: 1403,
  NotFound: 1404,
  BadMode: 1405,
  Conflict: 1409,
} as const;

export const ExtFlag = { HsReq: 1, KmReq: 2, Config: 4 } as const;

export const Ext = { HsReq: 1, HsRsp: 2, KmReq: 3, KmRsp: 4, Sid: 5, Congestion: 6, Filter: 7, Group: 8 } as const;

/** HSREQ / HSRSP flags. */
export const SrtFlag = {
  TsbpdSnd: 0x1,
  TsbpdRcv: 0x2,
  Crypt: 0x4,
  TlPktDrop: 0x8,
  PeriodicNak: 0x10,
  RexmitFlg: 0x20,
  Stream: 0x40,
  PacketFilter: 0x80,
} as const;

export interface Handshake {
  version: number;
  encryption: number;
  extension: number;
  isn: number;
  mtu: number;
  flowWindow: number;
  type: number;
  socketId: number;
  cookie: number;
  peerIp: Uint8Array;
  extensions: HsExtension[];
}

export interface HsExtension {
  type: number;
  data: Uint8Array;
}

/** HSREQ/HSRSP content: version, flags, receiver delay (high 16) | sender delay (low 16), ms. */
export interface SrtHs {
  version: number;
  flags: number;
  recvDelayMs: number;
  sendDelayMs: number;
}

/** At most this many extension blocks are read: a real caller sends four. */
const MAX_EXTENSIONS = 16;

export function parseHandshake(cif: Uint8Array): Handshake {
  if (cif.length < HS_CIF_SIZE) throw new SrtParseError(`handshake of ${cif.length} bytes, need ${HS_CIF_SIZE}`);
  const v = new DataView(cif.buffer, cif.byteOffset, cif.byteLength);
  const hs: Handshake = {
    version: v.getUint32(0),
    encryption: v.getUint16(4),
    extension: v.getUint16(6),
    isn: v.getUint32(8) & 0x7fffffff,
    mtu: v.getUint32(12),
    flowWindow: v.getUint32(16),
    type: v.getUint32(20),
    socketId: v.getUint32(24),
    cookie: v.getUint32(28),
    peerIp: cif.slice(32, 48),
    extensions: [],
  };
  let pos = HS_CIF_SIZE;
  while (pos + 4 <= cif.length) {
    if (hs.extensions.length >= MAX_EXTENSIONS) throw new SrtParseError('too many handshake extensions');
    const type = v.getUint16(pos);
    const words = v.getUint16(pos + 2);
    const end = pos + 4 + words * 4;
    if (end > cif.length) throw new SrtParseError(`handshake extension ${type} claims ${words * 4} bytes, ${cif.length - pos - 4} left`);
    hs.extensions.push({ type, data: cif.subarray(pos + 4, end) });
    pos = end;
  }
  return hs;
}

export function buildHandshake(hs: Handshake): Uint8Array {
  let size = HS_CIF_SIZE;
  for (const e of hs.extensions) size += 4 + padded(e.data.length);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, hs.version);
  v.setUint16(4, hs.encryption);
  v.setUint16(6, hs.extension);
  v.setUint32(8, hs.isn);
  v.setUint32(12, hs.mtu);
  v.setUint32(16, hs.flowWindow);
  v.setUint32(20, hs.type >>> 0);
  v.setUint32(24, hs.socketId >>> 0);
  v.setUint32(28, hs.cookie >>> 0);
  out.set(hs.peerIp.subarray(0, 16), 32);
  let pos = HS_CIF_SIZE;
  for (const e of hs.extensions) {
    v.setUint16(pos, e.type);
    v.setUint16(pos + 2, padded(e.data.length) / 4);
    out.set(e.data, pos + 4);
    pos += 4 + padded(e.data.length);
  }
  return out;
}

function padded(n: number): number {
  return (n + 3) & ~3;
}

export function parseSrtHs(data: Uint8Array): SrtHs {
  if (data.length < 12) throw new SrtParseError('HSREQ shorter than 12 bytes');
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const lat = v.getUint32(8);
  return { version: v.getUint32(0), flags: v.getUint32(4), recvDelayMs: lat >>> 16, sendDelayMs: lat & 0xffff };
}

export function buildSrtHs(h: SrtHs): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint32(0, h.version);
  v.setUint32(4, h.flags);
  v.setUint32(8, (((h.recvDelayMs & 0xffff) << 16) | (h.sendDelayMs & 0xffff)) >>> 0);
  return out;
}

/** The stream id extension: characters packed into words, each word's bytes reversed (see above). */
export function decodeStreamId(data: Uint8Array): string {
  if (data.length === 0 || data.length > MAX_STREAM_ID) throw new SrtParseError(`stream id of ${data.length} bytes (1..${MAX_STREAM_ID})`);
  const bytes = swapWords(data);
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return Buffer.from(bytes.subarray(0, end)).toString('utf8');
}

export function encodeStreamId(sid: string): Uint8Array {
  const raw = Buffer.from(sid, 'utf8');
  const out = new Uint8Array(padded(raw.length));
  out.set(raw);
  return swapWords(out);
}

function swapWords(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(padded(data.length));
  for (let i = 0; i < data.length; i++) out[(i & ~3) + 3 - (i & 3)] = data[i]!;
  return out;
}
