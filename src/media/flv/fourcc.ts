import { MediaParseError } from '../frame.js';

/** Shared bits of the enhanced-RTMP ("E-RTMP", veovera) extended tag headers. */

export function readFourCc(body: Uint8Array, pos: number): string {
  if (pos + 4 > body.length) throw new MediaParseError('FLV tag body truncated before FourCC');
  return String.fromCharCode(body[pos]!, body[pos + 1]!, body[pos + 2]!, body[pos + 3]!);
}

export function writeFourCc(out: Uint8Array, pos: number, fourcc: string): void {
  for (let i = 0; i < 4; i++) out[pos + i] = fourcc.charCodeAt(i);
}

/** Packet type ModEx (7 in both audio and video): a modifier block precedes the real packet type. */
export const PACKET_MOD_EX = 7;

/**
 * Skips ModEx blocks (E-RTMP v2) starting at `pos`, returning the real packet type and where
 * the FourCC starts. Modifiers (e.g. nanosecond timestamp offsets) are not needed here.
 */
export function skipModEx(body: Uint8Array, pos: number): { packetType: number; pos: number } {
  let packetType = PACKET_MOD_EX;
  for (let guard = 0; packetType === PACKET_MOD_EX; guard++) {
    if (guard > 8) throw new MediaParseError('too many ModEx blocks');
    if (pos >= body.length) throw new MediaParseError('ModEx truncated');
    let size = body[pos++]! + 1;
    if (size === 256) {
      if (pos + 2 > body.length) throw new MediaParseError('ModEx truncated');
      size = ((body[pos]! << 8) | body[pos + 1]!) + 1;
      pos += 2;
    }
    pos += size;
    if (pos >= body.length) throw new MediaParseError('ModEx truncated');
    packetType = body[pos++]! & 0x0f;
  }
  return { packetType, pos };
}

/** Signed 24-bit big-endian (FLV composition time). */
export function readSi24(body: Uint8Array, pos: number): number {
  const v = (body[pos]! << 16) | (body[pos + 1]! << 8) | body[pos + 2]!;
  return v & 0x800000 ? v - 0x1000000 : v;
}

export function writeSi24(out: Uint8Array, pos: number, v: number): void {
  const c = Math.max(-0x800000, Math.min(0x7fffff, Math.round(v))) & 0xffffff;
  out[pos] = c >> 16;
  out[pos + 1] = (c >> 8) & 0xff;
  out[pos + 2] = c & 0xff;
}
