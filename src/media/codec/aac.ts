import { MediaParseError, type CodecConfig } from '../frame.js';
import { BitReader } from './BitReader.js';

/** Sampling frequencies by index (ISO/IEC 14496-3, 1.6.3.4). */
export const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** What an AudioSpecificConfig or ADTS header says about a stream. */
export interface AacInfo {
  /** audioObjectType: 2 = AAC-LC, 5 = SBR (HE-AAC), 29 = PS (HE-AACv2). */
  objectType: number;
  sampleRate: number;
  /** channelConfiguration: 1-6 channels as numbered, 7 = 7.1 (8 channels), 0 = defined in-band. */
  channelConfig: number;
}

export function aacChannels(channelConfig: number): number {
  return channelConfig === 7 ? 8 : channelConfig;
}

/** Parses an AudioSpecificConfig. For explicit SBR/PS signalling the output (extension) rate is reported. */
export function parseAudioSpecificConfig(asc: Uint8Array): AacInfo {
  if (asc.length < 2) throw new MediaParseError('AudioSpecificConfig too short');
  const r = new BitReader(asc);
  const readType = (): number => {
    const t = r.bits(5);
    return t === 31 ? 32 + r.bits(6) : t;
  };
  const readRate = (): number => {
    const idx = r.bits(4);
    if (idx === 15) return r.bits(24);
    const rate = AAC_SAMPLE_RATES[idx];
    if (rate === undefined) throw new MediaParseError(`AAC sampling frequency index ${idx}`);
    return rate;
  };
  const objectType = readType();
  if (objectType === 0) throw new MediaParseError('AAC audio object type 0');
  let sampleRate = readRate();
  const channelConfig = r.bits(4);
  if (channelConfig > 7) throw new MediaParseError(`AAC channel configuration ${channelConfig}`);
  if (objectType === 5 || objectType === 29) sampleRate = readRate();
  if (sampleRate <= 0) throw new MediaParseError('AAC sampling frequency 0');
  return { objectType, sampleRate, channelConfig };
}

/** A two-byte AudioSpecificConfig (object types below 31, a rate from the table). */
export function buildAudioSpecificConfig(info: AacInfo): Uint8Array {
  const idx = AAC_SAMPLE_RATES.indexOf(info.sampleRate);
  if (idx < 0 || info.objectType < 1 || info.objectType > 30 || info.channelConfig > 7) {
    throw new MediaParseError(`cannot express AAC ${info.objectType}/${info.sampleRate}/${info.channelConfig} in 2 bytes`);
  }
  return new Uint8Array([(info.objectType << 3) | (idx >> 1), ((idx & 1) << 7) | (info.channelConfig << 3)]);
}

export function aacConfigFromAsc(asc: Uint8Array): CodecConfig {
  const info = parseAudioSpecificConfig(asc);
  const config: CodecConfig = {
    kind: 'audio', codec: 'aac', data: asc, sampleRate: info.sampleRate,
    codecString: `mp4a.40.${info.objectType}`, profile: aacProfileName(info.objectType),
  };
  if (info.channelConfig > 0) config.channels = aacChannels(info.channelConfig);
  return config;
}

export function aacProfileName(objectType: number): string {
  return ({ 1: 'Main', 2: 'LC', 3: 'SSR', 4: 'LTP', 5: 'HE-AAC', 29: 'HE-AACv2' } as Record<number, string>)[objectType]
    ?? `AOT ${objectType}`;
}

/** One ADTS header (ISO/IEC 13818-7 / 14496-3 1.A.2). */
export interface AdtsHeader extends AacInfo {
  /** 7, or 9 with CRC. */
  headerLength: number;
  /** Header plus payload, bytes. */
  frameLength: number;
  /** Raw data blocks in this frame (1-4). */
  blocks: number;
}

export const ADTS_HEADER_LENGTH = 7;

/** Parses the ADTS header at `pos`; needs 7 bytes. Throws MediaParseError when it is not a valid header. */
export function parseAdtsHeader(buf: Uint8Array, pos = 0): AdtsHeader {
  if (pos < 0 || pos + 7 > buf.length) throw new MediaParseError('ADTS header truncated');
  const b1 = buf[pos + 1]!;
  if (buf[pos] !== 0xff || (b1 & 0xf6) !== 0xf0) throw new MediaParseError('no ADTS sync word');
  const b2 = buf[pos + 2]!;
  const b3 = buf[pos + 3]!;
  const objectType = (b2 >> 6) + 1;
  const idx = (b2 >> 2) & 0xf;
  const sampleRate = AAC_SAMPLE_RATES[idx];
  if (sampleRate === undefined) throw new MediaParseError(`ADTS sampling frequency index ${idx}`);
  const channelConfig = ((b2 & 1) << 2) | (b3 >> 6);
  const frameLength = ((b3 & 3) << 11) | (buf[pos + 4]! << 3) | (buf[pos + 5]! >> 5);
  const headerLength = b1 & 1 ? 7 : 9;
  if (frameLength < headerLength) throw new MediaParseError(`ADTS frame length ${frameLength}`);
  return { objectType, sampleRate, channelConfig, headerLength, frameLength, blocks: (buf[pos + 6]! & 3) + 1 };
}

/** Writes a 7-byte ADTS header (no CRC, one raw block) for a payload of `payloadLength` bytes. */
export function writeAdtsHeader(out: Uint8Array, pos: number, info: AacInfo, payloadLength: number): void {
  const idx = AAC_SAMPLE_RATES.indexOf(info.sampleRate);
  const len = payloadLength + 7;
  if (idx < 0 || info.objectType < 1 || info.objectType > 4 || len > 0x1fff) {
    throw new MediaParseError(`cannot express AAC ${info.objectType}/${info.sampleRate}/${len} bytes in ADTS`);
  }
  out[pos] = 0xff;
  out[pos + 1] = 0xf1;
  out[pos + 2] = ((info.objectType - 1) << 6) | (idx << 2) | (info.channelConfig >> 2);
  out[pos + 3] = ((info.channelConfig & 3) << 6) | (len >> 11);
  out[pos + 4] = (len >> 3) & 0xff;
  out[pos + 5] = ((len & 7) << 5) | 0x1f;
  out[pos + 6] = 0xfc;
}

export function buildAdtsHeader(info: AacInfo, payloadLength: number): Uint8Array {
  const out = new Uint8Array(7);
  writeAdtsHeader(out, 0, info, payloadLength);
  return out;
}
