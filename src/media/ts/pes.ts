import { MediaParseError } from '../frame.js';

/** PES packet headers (ISO/IEC 13818-1, 2.4.3.6): 90 kHz PTS/DTS as 33-bit integers. */

export interface PesHeader {
  streamId: number;
  /** 90 kHz ticks, 33 bits; undefined when absent. */
  pts?: number;
  dts?: number;
  /** Offset of the elementary stream payload. */
  payloadStart: number;
}

function readTimestamp(b: Uint8Array, p: number): number {
  // 33 bits do not fit a 32-bit int: build with multiplication.
  return (((b[p]! >> 1) & 7) * 2 ** 30) + ((b[p + 1]! << 22) | ((b[p + 2]! >> 1) << 15) | (b[p + 3]! << 7) | (b[p + 4]! >> 1));
}

export function parsePesHeader(pes: Uint8Array): PesHeader {
  if (pes.length < 9) throw new MediaParseError('PES header truncated');
  if (pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) throw new MediaParseError('PES start code missing');
  const streamId = pes[3]!;
  const flags = pes[7]! >> 6;
  const headerLen = pes[8]!;
  const payloadStart = 9 + headerLen;
  if (payloadStart > pes.length) throw new MediaParseError('PES header length beyond packet');
  const h: PesHeader = { streamId, payloadStart };
  if (flags & 2) {
    if (headerLen < 5) throw new MediaParseError('PES PTS truncated');
    h.pts = readTimestamp(pes, 9);
    h.dts = h.pts;
  }
  if (flags === 3) {
    if (headerLen < 10) throw new MediaParseError('PES DTS truncated');
    h.dts = readTimestamp(pes, 14);
  }
  return h;
}

function writeTimestamp(out: Uint8Array, p: number, marker: number, ts: number): void {
  const hi = Math.floor(ts / 2 ** 30) & 7;
  const lo = ts % 2 ** 30;
  out[p] = (marker << 4) | (hi << 1) | 1;
  out[p + 1] = (lo >>> 22) & 0xff;
  out[p + 2] = (((lo >>> 15) & 0x7f) << 1) | 1;
  out[p + 3] = (lo >>> 7) & 0xff;
  out[p + 4] = ((lo & 0x7f) << 1) | 1;
}

/** Length of the PES header writePesHeader produces. */
export function pesHeaderLength(withDts: boolean): number {
  return withDts ? 19 : 14;
}

/**
 * Writes a PES header; `payloadLength` 0 or above 65535 - header writes PES_packet_length 0
 * (unbounded, allowed for video only).
 */
export function writePesHeader(out: Uint8Array, p: number, streamId: number, pts: number, dts: number | undefined, payloadLength: number): void {
  const withDts = dts !== undefined && dts !== pts;
  const headerLen = pesHeaderLength(withDts);
  const total = headerLen - 6 + payloadLength;
  out[p] = 0;
  out[p + 1] = 0;
  out[p + 2] = 1;
  out[p + 3] = streamId;
  const len = total > 0xffff ? 0 : total;
  out[p + 4] = len >> 8;
  out[p + 5] = len & 0xff;
  out[p + 6] = 0x80;
  out[p + 7] = withDts ? 0xc0 : 0x80;
  out[p + 8] = withDts ? 10 : 5;
  writeTimestamp(out, p + 9, withDts ? 3 : 2, pts);
  if (withDts) writeTimestamp(out, p + 14, 1, dts!);
}
