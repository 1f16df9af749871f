/**
 * DATA: one fragment of one message of one stream.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  type = 0x04  |K|R|F|  flags  |        stream id (16)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       message id (32)                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     fragment index (16)       |     fragment count (16)       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   deadline offset (16, ms)    |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                     timestamp (32, ms)                        |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               | FEC group (32, if F) ...      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  ... FEC group | FEC index (8, if F) |  payload length (16)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        payload ...                            |
 *
 * K keyframe, R reference frame, F the fragment is a source symbol of FEC group/index.
 * deadline offset: ms from sending this copy until the message is worthless (0xffff: none).
 * timestamp: the application's timestamp modulo 2^32.
 */
import { Reader, WireError, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export const DATA_FLAG_KEYFRAME = 0x80;
export const DATA_FLAG_REFERENCE = 0x40;
export const DATA_FLAG_FEC = 0x20;
export const NO_DEADLINE = 0xffff;
/** Bytes of a DATA frame before its payload, without / with the FEC fields. */
export const DATA_OVERHEAD = 20;
export const DATA_FEC_OVERHEAD = 25;
export const MAX_FRAGMENTS = 4096;

export interface DataFrame {
  kind: 'data';
  flags: number;
  streamId: number;
  messageId: number;
  fragIndex: number;
  fragCount: number;
  deadlineOffset: number;
  timestamp: number;
  fecGroup: number;
  fecIndex: number;
  payload: Uint8Array;
}

export function encodeData(w: Writer, f: DataFrame): void {
  w.u8(FrameType.DATA).u8(f.flags).u16(f.streamId).u32(f.messageId).u16(f.fragIndex).u16(f.fragCount);
  w.u16(f.deadlineOffset).u32(f.timestamp >>> 0);
  if (f.flags & DATA_FLAG_FEC) w.u32(f.fecGroup).u8(f.fecIndex);
  w.u16(f.payload.length).bytes(f.payload);
}

export function dataFrameSize(f: DataFrame): number {
  return (f.flags & DATA_FLAG_FEC ? DATA_FEC_OVERHEAD : DATA_OVERHEAD) + f.payload.length;
}

export function decodeData(r: Reader): DataFrame {
  const flags = r.u8();
  const streamId = r.u16();
  const messageId = r.u32();
  const fragIndex = r.u16();
  const fragCount = r.u16();
  if (fragCount === 0 || fragCount > MAX_FRAGMENTS || fragIndex >= fragCount) throw new WireError('bad-fragment');
  const deadlineOffset = r.u16();
  const timestamp = r.u32();
  let fecGroup = 0, fecIndex = 0;
  if (flags & DATA_FLAG_FEC) {
    fecGroup = r.u32();
    fecIndex = r.u8();
  }
  const len = r.u16();
  const payload = r.bytes(len);
  return { kind: 'data', flags, streamId, messageId, fragIndex, fragCount, deadlineOffset, timestamp, fecGroup, fecIndex, payload };
}
