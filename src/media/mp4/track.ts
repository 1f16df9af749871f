import type { CodecConfig } from '../frame.js';

/** One track of a fragmented MP4, as the init segment and the fragments describe it. */
export interface Mp4Track {
  /** track_ID, 1-based. */
  id: number;
  kind: 'video' | 'audio';
  codec: 'h264' | 'hevc' | 'aac';
  /** Units per second of this track's decode times (90 kHz video, the sample rate for audio). */
  timescale: number;
  /** avcC / hvcC record, or the AAC AudioSpecificConfig. */
  config: Uint8Array;
  width: number;
  height: number;
  sampleRate: number;
  channels: number;
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Sample rate and channel count from the first bytes of an AudioSpecificConfig. */
export function readAudioSpecificConfig(asc: Uint8Array): { objectType: number; sampleRate: number; channels: number } | undefined {
  if (asc.length < 2) return undefined;
  let bit = 0;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      const byte = asc[bit >> 3];
      if (byte === undefined) throw new RangeError('short');
      v = (v << 1) | ((byte >> (7 - (bit & 7))) & 1);
    }
    return v;
  };
  try {
    let objectType = read(5);
    if (objectType === 31) objectType = 32 + read(6);
    const index = read(4);
    const sampleRate = index === 15 ? read(24) : AAC_RATES[index];
    const channels = read(4);
    if (sampleRate === undefined || sampleRate === 0) return undefined;
    return { objectType, sampleRate, channels };
  } catch {
    return undefined;
  }
}

/**
 * The track for a stream's codec config, or undefined for codecs this muxer does not carry
 * (av1, opus, mp3): the caller leaves that track out rather than write a box players reject.
 */
export function trackFromConfig(id: number, config: CodecConfig): Mp4Track | undefined {
  if (config.kind === 'video' && (config.codec === 'h264' || config.codec === 'hevc')) {
    if (config.data.length < 7) return undefined;
    return {
      id, kind: 'video', codec: config.codec, timescale: 90000, config: config.data,
      width: config.width ?? 0, height: config.height ?? 0, sampleRate: 0, channels: 0,
    };
  }
  if (config.kind === 'audio' && config.codec === 'aac') {
    const asc = readAudioSpecificConfig(config.data);
    const sampleRate = config.sampleRate ?? asc?.sampleRate;
    if (!sampleRate) return undefined;
    const channels = config.channels ?? asc?.channels ?? 2;
    return {
      id, kind: 'audio', codec: 'aac', timescale: sampleRate, config: config.data,
      width: 0, height: 0, sampleRate, channels: channels || 2,
    };
  }
  return undefined;
}

/** RFC 6381 codec string ("avc1.64001f", "mp4a.40.2"), for HLS CODECS and MSE. */
export function codecString(track: Mp4Track): string {
  const c = track.config;
  if (track.codec === 'h264') {
    const hex = (b: number | undefined) => (b ?? 0).toString(16).padStart(2, '0');
    return `avc1.${hex(c[1])}${hex(c[2])}${hex(c[3])}`;
  }
  if (track.codec === 'hevc') return 'hvc1.1.6.L93.B0';
  return `mp4a.40.${readAudioSpecificConfig(c)?.objectType ?? 2}`;
}
