/**
 * NACK: packet numbers the receiver sees missing (a gap older than its reorder window).
 * The sender retransmits the fragments those packets carried at once, if still useful.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  type = 0x03  |  count (8)    |  packet number (32) ...       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { Reader, WireError, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export const MAX_NACKS = 64;

export interface NackFrame {
  kind: 'nack';
  packetNumbers: number[];
}

export function encodeNack(w: Writer, f: NackFrame): void {
  if (f.packetNumbers.length > MAX_NACKS) throw new WireError('too many nacks');
  w.u8(FrameType.NACK).u8(f.packetNumbers.length);
  for (const pn of f.packetNumbers) w.u32(pn);
}

export function decodeNack(r: Reader): NackFrame {
  const n = r.u8();
  if (n > MAX_NACKS) throw new WireError('bad-nack');
  r.need(4 * n);
  const packetNumbers: number[] = new Array(n);
  for (let i = 0; i < n; i++) packetNumbers[i] = r.u32();
  return { kind: 'nack', packetNumbers };
}
