/**
 * STREAM_OPEN: announces a stream before (or with) its first DATA. Reliable (retransmitted
 * until acked), sent again if lost.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  type = 0x06  |        stream id (16)         |  class (8)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | reliability(8)| priority (8)  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * class: 0 control, 1 audio, 2 video. reliability: 0 reliable, 1 deadline.
 */
import { Reader, WireError, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export interface StreamOpenFrame {
  kind: 'stream-open';
  streamId: number;
  streamClass: number;
  reliability: number;
  priority: number;
}

export function encodeStreamOpen(w: Writer, f: StreamOpenFrame): void {
  w.u8(FrameType.STREAM_OPEN).u16(f.streamId).u8(f.streamClass).u8(f.reliability).u8(f.priority);
}

export function decodeStreamOpen(r: Reader): StreamOpenFrame {
  const streamId = r.u16();
  const streamClass = r.u8();
  const reliability = r.u8();
  const priority = r.u8();
  if (streamClass > 2 || reliability > 1) throw new WireError('bad-stream');
  return { kind: 'stream-open', streamId, streamClass, reliability, priority };
}
