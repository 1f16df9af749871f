import { aacChannels, parseAudioSpecificConfig } from '../codec/aac.js';
import { h264ConfigFromRecord } from '../codec/h264.js';
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
  /** Audio samples per frame in `timescale` units (1024 for AAC, 2048 for explicitly signalled HE-AAC); 0 for video. */
  samplesPerFrame: number;
}

/** Object type, sample rate and channel count of an AudioSpecificConfig; undefined if malformed. */
export function readAudioSpecificConfig(asc: Uint8Array): { objectType: number; sampleRate: number; channels: number } | undefined {
  try {
    const info = parseAudioSpecificConfig(asc);
    return { objectType: info.objectType, sampleRate: info.sampleRate, channels: aacChannels(info.channelConfig) };
  } catch {
    return undefined;
  }
}

/** Width and height from the first SPS of an AVC record, when the config does not carry them. */
function h264Size(config: CodecConfig): { width: number; height: number } {
  if (config.width && config.height) return { width: config.width, height: config.height };
  try {
    const c = h264ConfigFromRecord(config.data);
    return { width: c.width ?? 0, height: c.height ?? 0 };
  } catch {
    return { width: 0, height: 0 };
  }
}

/**
 * The track for a stream's codec config, or undefined for codecs this muxer does not carry
 * (av1, opus, mp3): the caller leaves that track out rather than write a box players reject.
 */
export function trackFromConfig(id: number, config: CodecConfig): Mp4Track | undefined {
  if (config.kind === 'video' && (config.codec === 'h264' || config.codec === 'hevc')) {
    if (config.data.length < 7) return undefined;
    const size = config.codec === 'h264' ? h264Size(config) : { width: config.width ?? 0, height: config.height ?? 0 };
    return {
      id, kind: 'video', codec: config.codec, timescale: 90000, config: config.data,
      width: size.width, height: size.height, sampleRate: 0, channels: 0, samplesPerFrame: 0,
    };
  }
  if (config.kind === 'audio' && config.codec === 'aac') {
    const asc = readAudioSpecificConfig(config.data);
    const sampleRate = asc?.sampleRate ?? config.sampleRate;
    if (!sampleRate) return undefined;
    const channels = asc?.channels || config.channels || 2;
    // Explicit SBR/PS signalling reports the output rate, at which a frame holds 2048 samples.
    const samplesPerFrame = asc && (asc.objectType === 5 || asc.objectType === 29) ? 2048 : 1024;
    return {
      id, kind: 'audio', codec: 'aac', timescale: sampleRate, config: config.data,
      width: 0, height: 0, sampleRate, channels, samplesPerFrame,
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
