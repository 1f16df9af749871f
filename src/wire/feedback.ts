/**
 * FEEDBACK: the receiver's view of the media direction, for congestion control and stats.
 * Sent about every 100 ms while data arrives.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  type = 0x0c  |         receive rate (32, kbit/s) ...         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | ... rate      |  loss before repair (16, 1/65535) | interval  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | ... interval (16, ms)|
 * +-+-+-+-+-+-+-+-+-+-+-+
 */
import { Reader, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export interface FeedbackFrame {
  kind: 'feedback';
  recvRateKbps: number;
  /** Fraction lost on the wire in the interval, scaled to 0..65535. */
  loss: number;
  intervalMs: number;
}

export function encodeFeedback(w: Writer, f: FeedbackFrame): void {
  w.u8(FrameType.FEEDBACK).u32(f.recvRateKbps >>> 0).u16(f.loss).u16(f.intervalMs);
}

export function decodeFeedback(r: Reader): FeedbackFrame {
  return { kind: 'feedback', recvRateKbps: r.u32(), loss: r.u16(), intervalMs: r.u16() };
}
