import { MediaParseError, type CodecConfig } from '../frame.js';
import { parseH264Sps, type H264Sps } from './h264Sps.js';

export { parseH264Sps, type H264Sps } from './h264Sps.js';

export const NAL_SLICE = 1;
export const NAL_IDR = 5;
export const NAL_SEI = 6;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
export const NAL_AUD = 9;

/** A parsed AVCDecoderConfigurationRecord (ISO/IEC 14496-15, 5.3.3.1). */
export interface AvcConfig {
  profileIdc: number;
  compatibility: number;
  levelIdc: number;
  nalLengthSize: number;
  sps: Uint8Array[];
  pps: Uint8Array[];
}

/** Parses an AVCDecoderConfigurationRecord; the NAL units returned are views into `rec`. */
export function parseAvcConfig(rec: Uint8Array): AvcConfig {
  if (rec.length < 7) throw new MediaParseError('AVC config record too short');
  if (rec[0] !== 1) throw new MediaParseError(`AVC config version ${rec[0]}`);
  let pos = 6;
  const read = (count: number): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      if (pos + 2 > rec.length) throw new MediaParseError('AVC config record truncated');
      const len = (rec[pos]! << 8) | rec[pos + 1]!;
      pos += 2;
      if (len === 0 || pos + len > rec.length) throw new MediaParseError('AVC config parameter set length out of range');
      out.push(rec.subarray(pos, pos + len));
      pos += len;
    }
    return out;
  };
  const sps = read(rec[5]! & 0x1f);
  if (pos >= rec.length) throw new MediaParseError('AVC config record truncated before PPS count');
  const pps = read(rec[pos++]!);
  if (sps.length === 0) throw new MediaParseError('AVC config record has no SPS');
  return { profileIdc: rec[1]!, compatibility: rec[2]!, levelIdc: rec[3]!, nalLengthSize: (rec[4]! & 3) + 1, sps, pps };
}

/**
 * Builds an AVCDecoderConfigurationRecord with 4-byte NAL lengths from SPS/PPS NAL units.
 * High profiles get the chroma/bit-depth extension the spec requires for them.
 */
export function buildAvcConfig(sps: Uint8Array[], pps: Uint8Array[]): Uint8Array {
  if (sps.length === 0 || sps.length > 31 || pps.length > 255) throw new MediaParseError('bad SPS/PPS count');
  const info = parseH264Sps(sps[0]!);
  const ext = [100, 110, 122, 144].includes(info.profileIdc);
  let size = 7 + (ext ? 4 : 0);
  for (const n of [...sps, ...pps]) {
    if (n.length > 0xffff) throw new MediaParseError('parameter set too long');
    size += 2 + n.length;
  }
  const out = new Uint8Array(size);
  out.set([1, sps[0]![1]!, sps[0]![2]!, sps[0]![3]!, 0xff, 0xe0 | sps.length]);
  let pos = 6;
  const write = (n: Uint8Array): void => {
    out[pos] = n.length >> 8;
    out[pos + 1] = n.length & 0xff;
    out.set(n, pos + 2);
    pos += 2 + n.length;
  };
  sps.forEach(write);
  out[pos++] = pps.length;
  pps.forEach(write);
  if (ext) {
    out[pos++] = 0xfc | info.chromaFormatIdc;
    out[pos++] = 0xf8 | (info.bitDepthLuma - 8);
    out[pos++] = 0xf8 | (info.bitDepthChroma - 8);
    out[pos++] = 0;
  }
  return out;
}

/** The CodecConfig for an AVCDecoderConfigurationRecord, with size/profile/level read from its first SPS. */
export function h264ConfigFromRecord(rec: Uint8Array): CodecConfig {
  const avc = parseAvcConfig(rec);
  if (avc.nalLengthSize !== 4) {
    // The frame model fixes 4-byte NAL lengths; every encoder seen in practice uses them.
    throw new MediaParseError(`AVC NAL length size ${avc.nalLengthSize} unsupported (only 4)`);
  }
  const sps: H264Sps = parseH264Sps(avc.sps[0]!);
  return {
    kind: 'video', codec: 'h264', data: rec, width: sps.width, height: sps.height,
    codecString: sps.codecString, profile: sps.profileName, level: sps.levelIdc / 10,
  };
}

/** NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01), as views; trailing zero bytes dropped. */
export function splitAnnexB(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = -1;
  let i = 0;
  const n = buf.length;
  while (i + 2 < n) {
    if (buf[i + 2]! > 1) {
      i += 3;
    } else if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      if (start >= 0) out.push(trimZeros(buf, start, i));
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start >= 0 && start < n) out.push(trimZeros(buf, start, n));
  return out.filter((x) => x.length > 0);
}

function trimZeros(buf: Uint8Array, start: number, end: number): Uint8Array {
  while (end > start && buf[end - 1] === 0) end--;
  return buf.subarray(start, end);
}

/** NAL units of a 4-byte-length-prefixed (AVCC/HVCC) payload, as views. Throws on a lying length. */
export function splitAvcc(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 4 > buf.length) throw new MediaParseError('AVCC NAL length truncated');
    const len = ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
    pos += 4;
    if (len > buf.length - pos) throw new MediaParseError('AVCC NAL length beyond payload');
    out.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/** Joins NAL units into one 4-byte-length-prefixed payload (one allocation). */
export function nalsToAvcc(nals: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const n of nals) size += 4 + n.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const n of nals) {
    writeU32(out, pos, n.length);
    out.set(n, pos + 4);
    pos += 4 + n.length;
  }
  return out;
}

export function annexBToAvcc(buf: Uint8Array): Uint8Array {
  return nalsToAvcc(splitAnnexB(buf));
}

/** 4-byte lengths become 4-byte start codes, so the output has the input's size. */
export function avccToAnnexB(buf: Uint8Array): Uint8Array {
  const nals = splitAvcc(buf);
  const out = new Uint8Array(buf.length);
  let pos = 0;
  for (const n of nals) {
    out[pos + 3] = 1;
    out.set(n, pos + 4);
    pos += 4 + n.length;
  }
  return out;
}

export function writeU32(out: Uint8Array, pos: number, v: number): void {
  out[pos] = v >>> 24;
  out[pos + 1] = (v >>> 16) & 0xff;
  out[pos + 2] = (v >>> 8) & 0xff;
  out[pos + 3] = v & 0xff;
}

export function h264NalType(nal: Uint8Array): number {
  return nal.length > 0 ? nal[0]! & 0x1f : 0;
}

/** nal_ref_idc: 0 means no other picture references this one (disposable). */
export function h264NalRefIdc(nal: Uint8Array): number {
  return nal.length > 0 ? (nal[0]! >> 5) & 3 : 0;
}

/** Keyframe and reference flags of an access unit given as NAL units. */
export function h264FrameFlags(nals: Uint8Array[]): { keyframe: boolean; reference: boolean } {
  let keyframe = false;
  let sawSlice = false;
  let reference = false;
  for (const n of nals) {
    const t = h264NalType(n);
    if (t >= 1 && t <= 5) {
      sawSlice = true;
      if (t === NAL_IDR) keyframe = true;
      if (h264NalRefIdc(n) !== 0) reference = true;
    }
  }
  return { keyframe, reference: reference || !sawSlice };
}
