/**
 * The one frame model every container demuxes into and muxes out of (FLV, MPEG-TS, fMP4,
 * the transport's own framing). Nothing converts one container to another directly.
 *
 * Time is in milliseconds (a double, so 90 kHz MPEG-TS stamps survive without rounding).
 */

export type MediaKind = 'video' | 'audio' | 'data';

export type VideoCodec = 'h264' | 'hevc' | 'av1';
export type AudioCodec = 'aac' | 'opus' | 'mp3';
export type Codec = VideoCodec | AudioCodec | 'amf0';

/**
 * One access unit: a whole video picture or one audio frame.
 *
 * Payload layout by codec (the same as FLV / MP4 carry them, so FLV and fMP4 need no rewrite):
 * - h264 / hevc: NAL units, each prefixed with a 4-byte big-endian length (AVCC / HVCC);
 * - aac: one raw AAC frame (no ADTS header);
 * - opus / mp3: one raw packet;
 * - amf0 (kind 'data'): an AMF0-encoded script message such as onMetaData.
 */
export interface MediaFrame {
  kind: MediaKind;
  codec: Codec;
  /** Decode time, ms. */
  dts: number;
  /** Presentation time, ms (equals dts when the codec has no reordering). */
  pts: number;
  /** A random access point: a decoder can start here (IDR for H.264). */
  keyframe: boolean;
  /**
   * Other frames depend on this one. False only for disposable pictures (H.264 nal_ref_idc 0,
   * FLV "disposable inter frame"); always true for audio. The transport drops these first.
   */
  reference: boolean;
  data: Uint8Array;
  /**
   * Wall-clock ms (Date.now()-style, or the bench's virtual clock) when the frame entered
   * Tributary from its encoder. Carried end to end so every hop can report the frame's age.
   */
  captureTime?: number;
}

/** Decoder configuration of one track: what a player needs before the first frame. */
export interface CodecConfig {
  kind: 'video' | 'audio';
  codec: VideoCodec | AudioCodec;
  /**
   * h264: AVCDecoderConfigurationRecord; hevc: HEVCDecoderConfigurationRecord;
   * av1: AV1CodecConfigurationRecord; aac: AudioSpecificConfig; opus: OpusHead.
   */
  data: Uint8Array;
  /** Parsed from the record (SPS / AudioSpecificConfig); informative. */
  width?: number;
  height?: number;
  /** e.g. "avc1.64001f", "mp4a.40.2": the RFC 6381 codec string used by HLS and MSE. */
  codecString?: string;
  profile?: string;
  level?: number;
  sampleRate?: number;
  channels?: number;
}

/** What a demuxer yields: configs when they appear or change, and frames. */
export type DemuxOutput =
  | { type: 'config'; config: CodecConfig }
  | { type: 'frame'; frame: MediaFrame }
  | { type: 'metadata'; values: Record<string, unknown> };

/** A parse error of hostile or broken input: callers drop the input and count it. */
export class MediaParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaParseError';
  }
}
