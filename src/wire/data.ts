/**
 * DATA: one fragment of one message of one stream. The type byte carries the flags (types
 * 0x80-0xff are all DATA); the fields that repeat or that the stream implies are left out.
 *
 *  0 1 2 3 4 5 6 7
 * +-+-+-+-+-+-+-+-+
 * |1|K|R|F|D|L|pos|   type: 0x80 | flags
 * +-+-+-+-+-+-+-+-+---------------------------------------+
 * | stream id (varint)  | message id (varint)             |
 * | fragment index (varint, pos = middle or last)         |
 * | deadline offset (16, ms, if D)                        |
 * | timestamp (32, ms, pos = only or first)               |
 * | FEC group (varint), FEC index (8)        (if F)       |
 * | payload length (varint, if L)                         |
 * | payload ... (to the end of its section without L)     |
 * +-------------------------------------------------------+
 *
 * K keyframe, R reference frame, F the fragment is a source symbol of FEC group/index,
 * D a deadline offset follows (absent: no deadline), L the payload length is written (absent:
 * the payload runs to the end of the packet section, so DATA is then the section's last frame).
 * pos: 0 the only fragment (index 0, count 1), 1 the first of several (index 0), 2 a middle
 * one, 3 the last (count = index + 1). A receiver learns a message's fragment count from its
 * last fragment, and its timestamp from its first.
 * deadline offset: ms from sending this copy until the message is worthless.
 * timestamp: the application's timestamp modulo 2^32.
 * varint: unsigned LEB128 of at most 32 bits, shortest form only (Reader.varint).
 */
import { Reader, WireError, Writer, varintLen } from './buf.js';

/** In-memory flag bits of DataFrame.flags (the wire's K, R, F; see above for their places). */
export const DATA_FLAG_KEYFRAME = 0x80;
export const DATA_FLAG_REFERENCE = 0x40;
export const DATA_FLAG_FEC = 0x20;
export const NO_DEADLINE = 0xffff;
/** Type bytes 0x80-0xff are DATA. */
export const DATA_TYPE = 0x80;
const K = 0x40, R = 0x20, F = 0x10, D = 0x08, L = 0x04;
const POS_ONLY = 0, POS_FIRST = 1, POS_MIDDLE = 2, POS_LAST = 3;
export const MAX_FRAGMENTS = 4096;
/**
 * The most bytes a DATA frame without its length field takes before its payload, without /
 * with the FEC fields (stream id <= 0xffff: 3, message id: 5, index < 4096: 2, deadline 2,
 * timestamp 4, FEC group 5 and index 1, type 1). Budgets use these; most frames are far
 * shorter (a middle fragment of a protected video frame: about 10).
 */
export const DATA_OVERHEAD = 17;
export const DATA_FEC_OVERHEAD = 23;

export interface DataFrame {
  kind: 'data';
  flags: number;
  streamId: number;
  messageId: number;
  fragIndex: number;
  /** The message's fragment count; 0 when decoded from a first or middle fragment (not on the wire). */
  fragCount: number;
  deadlineOffset: number;
  /** Decoded as 0 for a fragment other than the first (only the first carries it). */
  timestamp: number;
  fecGroup: number;
  fecIndex: number;
  payload: Uint8Array;
}

export function isDataType(t: number): boolean {
  return (t & DATA_TYPE) !== 0;
}

function position(f: DataFrame): number {
  if (f.fragIndex === 0) return f.fragCount === 1 ? POS_ONLY : POS_FIRST;
  return f.fragIndex === f.fragCount - 1 ? POS_LAST : POS_MIDDLE;
}

/**
 * Writes the frame, its length field included unless `toEnd` (the caller then ends the
 * section with it). The encoding is canonical: decoding and re-encoding gives the same bytes.
 */
export function encodeData(w: Writer, f: DataFrame, toEnd = false): void {
  const pos = position(f);
  const fec = (f.flags & DATA_FLAG_FEC) !== 0;
  const deadline = f.deadlineOffset !== NO_DEADLINE;
  let t = DATA_TYPE | pos;
  if (f.flags & DATA_FLAG_KEYFRAME) t |= K;
  if (f.flags & DATA_FLAG_REFERENCE) t |= R;
  if (fec) t |= F;
  if (deadline) t |= D;
  if (!toEnd) t |= L;
  w.u8(t).varint(f.streamId).varint(f.messageId);
  if (pos >= POS_MIDDLE) w.varint(f.fragIndex);
  if (deadline) w.u16(f.deadlineOffset);
  if (pos <= POS_FIRST) w.u32(f.timestamp >>> 0);
  if (fec) w.varint(f.fecGroup).u8(f.fecIndex);
  if (!toEnd) w.varint(f.payload.length);
  w.bytes(f.payload);
}

/** Bytes encodeData writes. */
export function dataFrameSize(f: DataFrame, toEnd = false): number {
  const pos = position(f);
  let n = 1 + varintLen(f.streamId) + varintLen(f.messageId);
  if (pos >= POS_MIDDLE) n += varintLen(f.fragIndex);
  if (f.deadlineOffset !== NO_DEADLINE) n += 2;
  if (pos <= POS_FIRST) n += 4;
  if (f.flags & DATA_FLAG_FEC) n += varintLen(f.fecGroup) + 1;
  if (!toEnd) n += varintLen(f.payload.length);
  return n + f.payload.length;
}

/** Decodes the body of a DATA frame whose type byte `t` was read already. */
export function decodeData(r: Reader, t: number): DataFrame {
  const pos = t & 0x03;
  let flags = 0;
  if (t & K) flags |= DATA_FLAG_KEYFRAME;
  if (t & R) flags |= DATA_FLAG_REFERENCE;
  if (t & F) flags |= DATA_FLAG_FEC;
  const streamId = r.varint();
  const messageId = r.varint();
  let fragIndex = 0;
  let fragCount = pos === POS_ONLY ? 1 : 0;
  if (pos >= POS_MIDDLE) {
    fragIndex = r.varint();
    if (fragIndex === 0 || fragIndex >= MAX_FRAGMENTS) throw new WireError('bad-fragment');
    if (pos === POS_LAST) fragCount = fragIndex + 1;
  }
  const deadlineOffset = t & D ? r.u16() : NO_DEADLINE;
  if (deadlineOffset === NO_DEADLINE && t & D) throw new WireError('bad-fragment');
  const timestamp = pos <= POS_FIRST ? r.u32() : 0;
  let fecGroup = 0, fecIndex = 0;
  if (t & F) {
    fecGroup = r.varint();
    fecIndex = r.u8();
  }
  const len = t & L ? r.varint() : r.left;
  const payload = r.bytes(len);
  return { kind: 'data', flags, streamId, messageId, fragIndex, fragCount, deadlineOffset, timestamp, fecGroup, fecIndex, payload };
}
