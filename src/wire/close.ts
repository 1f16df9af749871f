/**
 * CLOSE: the sender is closing the session; no reply expected.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  type = 0x09  |          code (16)            | reason len (8)|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 reason (UTF-8, 0..255 bytes) ...              |
 *
 * code: 0 normal, 1 idle, 2 protocol error, 3 authentication failed.
 */
import { Reader, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export interface CloseFrame {
  kind: 'close';
  code: number;
  reason: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

export function encodeClose(w: Writer, f: CloseFrame): void {
  const bytes = enc.encode(f.reason).subarray(0, 255);
  w.u8(FrameType.CLOSE).u16(f.code).u8(bytes.length).bytes(bytes);
}

export function decodeClose(r: Reader): CloseFrame {
  const code = r.u16();
  const len = r.u8();
  return { kind: 'close', code, reason: dec.decode(r.bytes(len)) };
}
