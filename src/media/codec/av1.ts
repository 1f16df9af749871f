import { MediaParseError, type CodecConfig } from '../frame.js';

/**
 * AV1CodecConfigurationRecord (AV1-ISOBMFF, 2.3.3): the codec string "av01.P.LLT.DD" from its
 * first four bytes. The picture size lives in the sequence header OBU and is not parsed here.
 */
export function av1ConfigFromRecord(rec: Uint8Array): CodecConfig {
  if (rec.length < 4) throw new MediaParseError('AV1 config record too short');
  if (rec[0] !== 0x81) throw new MediaParseError('AV1 config record marker/version wrong');
  const profile = rec[1]! >> 5;
  const level = rec[1]! & 0x1f;
  const tier = rec[2]! >> 7;
  const highBitDepth = (rec[2]! >> 6) & 1;
  const twelveBit = (rec[2]! >> 5) & 1;
  const depth = highBitDepth ? (twelveBit ? 12 : 10) : 8;
  return {
    kind: 'video', codec: 'av1', data: rec, profile: String(profile), level,
    codecString: `av01.${profile}.${String(level).padStart(2, '0')}${tier ? 'H' : 'M'}.${String(depth).padStart(2, '0')}`,
  };
}
