import { MediaParseError } from '../frame.js';
import { BitReader, unescapeRbsp } from './BitReader.js';

/** What Tributary needs from an H.264 sequence parameter set (ISO/IEC 14496-10, 7.3.2.1.1). */
export interface H264Sps {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** Displayed size after the cropping window. */
  width: number;
  height: number;
  /** "High", "Main", "Constrained Baseline", ... */
  profileName: string;
  /** "avc1.PPCCLL" (RFC 6381). */
  codecString: string;
}

/** Profiles whose SPS carries chroma format, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Pictures larger than this on either side are not real H.264 and are refused. */
const MAX_DIMENSION = 16384;

/** Parses an SPS NAL unit (with its 1-byte NAL header). Throws MediaParseError on anything malformed. */
export function parseH264Sps(nal: Uint8Array): H264Sps {
  if (nal.length < 4) throw new MediaParseError('SPS too short');
  if ((nal[0]! & 0x1f) !== 7) throw new MediaParseError(`NAL type ${nal[0]! & 0x1f} is not an SPS`);
  const r = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profileIdc = r.bits(8);
  const constraintFlags = r.bits(8);
  const levelIdc = r.bits(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc > 3) throw new MediaParseError(`chroma_format_idc ${chromaFormatIdc}`);
    if (chromaFormatIdc === 3) separateColourPlane = r.flag();
    bitDepthLuma = 8 + r.ue();
    bitDepthChroma = 8 + r.ue();
    if (bitDepthLuma > 14 || bitDepthChroma > 14) throw new MediaParseError('bit depth out of range');
    r.skip(1); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {
      const lists = chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++) if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) {
    r.ue(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    r.skip(1);
    r.se();
    r.se();
    const cycle = r.ue();
    if (cycle > 255) throw new MediaParseError('num_ref_frames_in_pic_order_cnt_cycle > 255');
    for (let i = 0; i < cycle; i++) r.se();
  } else if (pocType !== 2) {
    throw new MediaParseError(`pic_order_cnt_type ${pocType}`);
  }
  r.ue(); // max_num_ref_frames
  r.skip(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.skip(1); // mb_adaptive_frame_field_flag
  r.skip(1); // direct_8x8_inference_flag
  let cropLeft = 0, cropRight = 0, cropTop = 0, cropBottom = 0;
  if (r.flag()) {
    cropLeft = r.ue();
    cropRight = r.ue();
    cropTop = r.ue();
    cropBottom = r.ue();
  }
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 3 ? 1 : 2;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropUnitX * (cropLeft + cropRight);
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (cropTop + cropBottom);
  if (!(width > 0 && height > 0 && width <= MAX_DIMENSION && height <= MAX_DIMENSION)) {
    throw new MediaParseError(`SPS picture size ${width}x${height} out of range`);
  }
  return {
    profileIdc, constraintFlags, levelIdc, chromaFormatIdc, bitDepthLuma, bitDepthChroma, width, height,
    profileName: h264ProfileName(profileIdc, constraintFlags),
    codecString: 'avc1.' + hex2(profileIdc) + hex2(constraintFlags) + hex2(levelIdc),
  };
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

export function h264ProfileName(profileIdc: number, constraintFlags: number): string {
  switch (profileIdc) {
    case 66: return constraintFlags & 0x40 ? 'Constrained Baseline' : 'Baseline';
    case 77: return 'Main';
    case 88: return 'Extended';
    case 100: return 'High';
    case 110: return 'High 10';
    case 122: return 'High 4:2:2';
    case 244: return 'High 4:4:4 Predictive';
    case 44: return 'CAVLC 4:4:4 Intra';
    default: return `profile ${profileIdc}`;
  }
}

export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
