/**
 * LOST: the receiver gave up a message of a deadline video stream that it had begun to receive
 * and could not complete (its deadline passed with fragments missing, FEC and resends
 * included). Only the receiver knows this: the sender cannot tell a fragment FEC rebuilt from
 * one lost for good. The sender stops sending the frames predicted from it and may ask its
 * encoder for a keyframe (RTCP's Picture Loss Indication plays this part in RTP).
 *
 *  0                   1                   2
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  type = 0x0e  | stream id (varint) | message id (varint) |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { Reader, Writer, varintLen } from './buf.js';
import { FrameType } from './frameType.js';

export interface LostFrame {
  kind: 'lost';
  streamId: number;
  messageId: number;
}

export function encodeLost(w: Writer, f: LostFrame): void {
  w.u8(FrameType.LOST).varint(f.streamId).varint(f.messageId);
}

export function lostLength(f: LostFrame): number {
  return 1 + varintLen(f.streamId) + varintLen(f.messageId);
}

/** The type byte has been read. */
export function decodeLost(r: Reader): LostFrame {
  return { kind: 'lost', streamId: r.varint(), messageId: r.varint() };
}
