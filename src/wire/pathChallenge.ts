/**
 * PATH_CHALLENGE and PATH_RESPONSE: proves the peer receives on a new path before it is used
 * for more than 3x the bytes received on it. The response echoes the 8 bytes of data and is
 * sent on the path the challenge arrived on.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | type 0x0a/0x0b|                   data (64) ...               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { Reader, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export interface PathFrame {
  kind: 'path-challenge' | 'path-response';
  data: Uint8Array;
}

export function encodePathFrame(w: Writer, f: PathFrame): void {
  w.u8(f.kind === 'path-challenge' ? FrameType.PATH_CHALLENGE : FrameType.PATH_RESPONSE).bytes(f.data);
}

export function decodePathFrame(r: Reader, kind: PathFrame['kind']): PathFrame {
  return { kind, data: r.bytes(8) };
}
