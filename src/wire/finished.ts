/**
 * FINISHED: the client's proof that it holds the same keys and pre-shared key as the server.
 * Sent in the client's first PROTECTED packets until the server's first PROTECTED packet arrives.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  type = 0x0d  |  client MAC (256): HMAC-SHA256(mac key,        |
 * +-+-+-+-+-+-+-+-+    "tributary client" || transcript hash) ...  |
 */
import { Reader, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export interface FinishedFrame {
  kind: 'finished';
  mac: Uint8Array;
}

export function encodeFinished(w: Writer, f: FinishedFrame): void {
  w.u8(FrameType.FINISHED).bytes(f.mac);
}

/** The type byte has been read. */
export function decodeFinished(r: Reader): FinishedFrame {
  return { kind: 'finished', mac: r.bytes(32) };
}
