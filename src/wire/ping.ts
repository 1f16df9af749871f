/**
 * PING (keepalive; elicits an ACK) and PADDING (a single zero byte; many fill a probe packet).
 *
 * +-+-+-+-+-+-+-+-+      +-+-+-+-+-+-+-+-+
 * |  type = 0x01  |      |  type = 0x00  |
 * +-+-+-+-+-+-+-+-+      +-+-+-+-+-+-+-+-+
 */
import { Writer } from './buf.js';
import { FrameType } from './frameType.js';

export interface PingFrame {
  kind: 'ping';
}

export function encodePing(w: Writer): void {
  w.u8(FrameType.PING);
}

export function encodePadding(w: Writer, n: number): void {
  w.zeros(n);
}
