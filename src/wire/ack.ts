/**
 * ACK: selective acknowledgement of packet numbers (one number space per session, all paths).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  type = 0x02  |           largest acknowledged (32) ...       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | ... largest   |    ack delay (16, 100 us)     | recv time ... |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | ... receive time of largest (32, 100 us, receiver's clock)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | range count(8)| first range (16)              | gap (16) ...  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * first range: how many packets below `largest` are also acked (contiguously).
 * Then `range count` pairs (gap, length), 16 bits each, walking down: skip `gap + 1`
 * unacked numbers, then `length + 1` acked numbers. The receive time lets the sender
 * follow the one-way delay trend (the congestion controller's delay signal).
 */
import { Reader, WireError, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export const MAX_ACK_RANGES = 32;

export interface AckFrame {
  kind: 'ack';
  largest: number;
  ackDelay: number;
  recvTime: number;
  firstRange: number;
  /** Flat pairs: gap0, len0, gap1, len1, ... */
  ranges: number[];
}

export function encodeAck(w: Writer, f: AckFrame): void {
  const n = f.ranges.length >> 1;
  if (n > MAX_ACK_RANGES) throw new WireError('too many ranges');
  w.u8(FrameType.ACK).u32(f.largest).u16(Math.min(0xffff, f.ackDelay)).u32(f.recvTime >>> 0).u8(n).u16(f.firstRange);
  for (let i = 0; i < f.ranges.length; i++) w.u16(f.ranges[i]!);
}

export function ackSize(f: AckFrame): number {
  return 14 + 2 * f.ranges.length;
}

export function decodeAck(r: Reader): AckFrame {
  const largest = r.u32();
  const ackDelay = r.u16();
  const recvTime = r.u32();
  const n = r.u8();
  if (n > MAX_ACK_RANGES) throw new WireError('bad-ack');
  const firstRange = r.u16();
  if (firstRange > largest) throw new WireError('bad-ack');
  r.need(4 * n);
  const ranges: number[] = new Array(2 * n);
  let low = largest - firstRange;
  for (let i = 0; i < 2 * n; i += 2) {
    const gap = r.u16();
    const len = r.u16();
    low -= gap + 2 + len;
    if (low < 0) throw new WireError('bad-ack');
    ranges[i] = gap;
    ranges[i + 1] = len;
  }
  return { kind: 'ack', largest, ackDelay, recvTime, firstRange, ranges };
}

/** Calls fn(lo, hi) for each acked range, highest first, inclusive bounds. */
export function forEachAckRange(f: AckFrame, fn: (lo: number, hi: number) => void): void {
  let hi = f.largest;
  let lo = hi - f.firstRange;
  fn(lo, hi);
  for (let i = 0; i < f.ranges.length; i += 2) {
    hi = lo - f.ranges[i]! - 2;
    lo = hi - f.ranges[i + 1]!;
    fn(lo, hi);
  }
}
