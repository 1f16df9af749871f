import { MediaParseError, type CodecConfig } from '../frame.js';
import { BitReader, unescapeRbsp } from './BitReader.js';

const HEVC_NAL_SPS = 33;
const MAX_DIMENSION = 16384;

/**
 * HEVCDecoderConfigurationRecord (ISO/IEC 14496-15, 8.3.3.1): the codec string from its fixed
 * 23-byte head and the picture size from the first SPS it carries.
 */
export function hevcConfigFromRecord(rec: Uint8Array): CodecConfig {
  if (rec.length < 23) throw new MediaParseError('HEVC config record too short');
  if (rec[0] !== 1) throw new MediaParseError(`HEVC config version ${rec[0]}`);
  if ((rec[21]! & 3) !== 3) throw new MediaParseError(`HEVC NAL length size ${(rec[21]! & 3) + 1} unsupported (only 4)`);
  const levelIdc = rec[12]!;
  const config: CodecConfig = {
    kind: 'video', codec: 'hevc', data: rec, codecString: hevcCodecString(rec),
    profile: hevcProfileName(rec[1]! & 0x1f), level: levelIdc / 30,
  };
  const sps = findSps(rec);
  if (sps) {
    const size = parseHevcSpsSize(sps);
    config.width = size.width;
    config.height = size.height;
  }
  return config;
}

/** "hvc1.P.C.TL.B..." per ISO/IEC 14496-15 Annex E. */
export function hevcCodecString(rec: Uint8Array): string {
  const space = rec[1]! >> 6;
  const tier = (rec[1]! >> 5) & 1;
  const profile = rec[1]! & 0x1f;
  const compat = ((rec[2]! << 24) | (rec[3]! << 16) | (rec[4]! << 8) | rec[5]!) >>> 0;
  let reversed = 0;
  for (let i = 0; i < 32; i++) if (compat & (1 << i)) reversed |= 1 << (31 - i);
  const constraints: string[] = [];
  for (let i = 6; i < 12; i++) constraints.push(rec[i]!.toString(16).toUpperCase());
  while (constraints.length > 0 && constraints[constraints.length - 1] === '0') constraints.pop();
  const head = `hvc1.${['', 'A', 'B', 'C'][space]}${profile}.${(reversed >>> 0).toString(16).toUpperCase()}.${tier ? 'H' : 'L'}${rec[12]}`;
  return constraints.length > 0 ? `${head}.${constraints.join('.')}` : head;
}

function hevcProfileName(idc: number): string {
  return ({ 1: 'Main', 2: 'Main 10', 3: 'Main Still Picture', 4: 'Range Extensions' } as Record<number, string>)[idc]
    ?? `profile ${idc}`;
}

function findSps(rec: Uint8Array): Uint8Array | undefined {
  let pos = 23;
  const arrays = rec[22]!;
  for (let a = 0; a < arrays; a++) {
    if (pos + 3 > rec.length) throw new MediaParseError('HEVC config record truncated');
    const type = rec[pos]! & 0x3f;
    const count = (rec[pos + 1]! << 8) | rec[pos + 2]!;
    pos += 3;
    for (let i = 0; i < count; i++) {
      if (pos + 2 > rec.length) throw new MediaParseError('HEVC config record truncated');
      const len = (rec[pos]! << 8) | rec[pos + 1]!;
      pos += 2;
      if (pos + len > rec.length) throw new MediaParseError('HEVC parameter set length out of range');
      if (type === HEVC_NAL_SPS) return rec.subarray(pos, pos + len);
      pos += len;
    }
  }
  return undefined;
}

/** Picture size from an HEVC SPS NAL unit (ITU-T H.265, 7.3.2.2), after the conformance window. */
export function parseHevcSpsSize(nal: Uint8Array): { width: number; height: number } {
  if (nal.length < 3) throw new MediaParseError('HEVC SPS too short');
  const r = new BitReader(unescapeRbsp(nal.subarray(2)));
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.bits(3);
  r.skip(1);
  r.skip(96); // general profile, tier, flags and level
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.flag());
    levelPresent.push(r.flag());
  }
  if (maxSubLayersMinus1 > 0) r.skip(2 * (8 - maxSubLayersMinus1));
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.skip(88);
    if (levelPresent[i]) r.skip(8);
  }
  r.ue(); // sps_seq_parameter_set_id
  const chroma = r.ue();
  if (chroma > 3) throw new MediaParseError(`HEVC chroma_format_idc ${chroma}`);
  if (chroma === 3) r.skip(1);
  let width = r.ue();
  let height = r.ue();
  if (r.flag()) {
    const subW = chroma === 1 || chroma === 2 ? 2 : 1;
    const subH = chroma === 1 ? 2 : 1;
    width -= subW * (r.ue() + r.ue());
    height -= subH * (r.ue() + r.ue());
  }
  if (!(width > 0 && height > 0 && width <= MAX_DIMENSION && height <= MAX_DIMENSION)) {
    throw new MediaParseError(`HEVC picture size ${width}x${height} out of range`);
  }
  return { width, height };
}

