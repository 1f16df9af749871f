import { MediaParseError } from '../frame.js';
import { crc32Mpeg } from './crc32.js';

/** PAT and PMT sections (ISO/IEC 13818-1, 2.4.4). Parsers take the section starting at table_id. */

export const STREAM_TYPE_AAC = 0x0f;
export const STREAM_TYPE_H264 = 0x1b;
export const STREAM_TYPE_HEVC = 0x24;
export const STREAM_TYPE_MP3 = 0x03;
export const STREAM_TYPE_MP2 = 0x04;

export interface PmtStream {
  streamType: number;
  pid: number;
}

/** Checks the section's length against the bytes present and its CRC; returns the body bounds. */
function checkSection(sec: Uint8Array, tableId: number): number {
  if (sec.length < 3) throw new MediaParseError('PSI section truncated');
  if (sec[0] !== tableId) throw new MediaParseError(`PSI table id ${sec[0]}, expected ${tableId}`);
  const len = ((sec[1]! & 0x0f) << 8) | sec[2]!;
  const end = 3 + len;
  if (len < 9 || end > sec.length) throw new MediaParseError('PSI section length out of range');
  const crc = ((sec[end - 4]! << 24) | (sec[end - 3]! << 16) | (sec[end - 2]! << 8) | sec[end - 1]!) >>> 0;
  if (crc32Mpeg(sec, 0, end - 4) !== crc) throw new MediaParseError('PSI section CRC mismatch');
  return end - 4;
}

/** The PMT PID of the first program in a PAT (program 0 is the network PID and is skipped). */
export function parsePat(sec: Uint8Array): number | undefined {
  const end = checkSection(sec, 0x00);
  for (let p = 8; p + 4 <= end; p += 4) {
    const program = (sec[p]! << 8) | sec[p + 1]!;
    if (program !== 0) return ((sec[p + 2]! & 0x1f) << 8) | sec[p + 3]!;
  }
  return undefined;
}

export function parsePmt(sec: Uint8Array): { pcrPid: number; streams: PmtStream[] } {
  const end = checkSection(sec, 0x02);
  if (end < 12) throw new MediaParseError('PMT too short');
  const pcrPid = ((sec[8]! & 0x1f) << 8) | sec[9]!;
  const infoLen = ((sec[10]! & 0x0f) << 8) | sec[11]!;
  const streams: PmtStream[] = [];
  let p = 12 + infoLen;
  while (p + 5 <= end) {
    const streamType = sec[p]!;
    const pid = ((sec[p + 1]! & 0x1f) << 8) | sec[p + 2]!;
    const esInfo = ((sec[p + 3]! & 0x0f) << 8) | sec[p + 4]!;
    streams.push({ streamType, pid });
    p += 5 + esInfo;
  }
  return { pcrPid, streams };
}

function finishSection(body: number[]): Uint8Array {
  // body starts at table_id; section_length counts from after it, CRC included.
  const len = body.length - 3 + 4;
  body[1] = 0xb0 | (len >> 8);
  body[2] = len & 0xff;
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  const crc = crc32Mpeg(out, 0, body.length);
  out[body.length] = crc >>> 24;
  out[body.length + 1] = (crc >>> 16) & 0xff;
  out[body.length + 2] = (crc >>> 8) & 0xff;
  out[body.length + 3] = crc & 0xff;
  return out;
}

export function buildPat(pmtPid: number, programNumber = 1): Uint8Array {
  return finishSection([0x00, 0, 0, 0x00, 0x01, 0xc1, 0, 0,
    programNumber >> 8, programNumber & 0xff, 0xe0 | (pmtPid >> 8), pmtPid & 0xff]);
}

export function buildPmt(pcrPid: number, streams: PmtStream[], programNumber = 1): Uint8Array {
  const body = [0x02, 0, 0, programNumber >> 8, programNumber & 0xff, 0xc1, 0, 0,
    0xe0 | (pcrPid >> 8), pcrPid & 0xff, 0xf0, 0];
  for (const s of streams) body.push(s.streamType, 0xe0 | (s.pid >> 8), s.pid & 0xff, 0xf0, 0);
  return finishSection(body);
}
