import type { CodecConfig, MediaFrame } from '../frame.js';
import { videoBodyHeaderLength, videoConfigBodyHeaderLength, writeVideoBodyHeader, writeVideoConfigBodyHeader } from './videoTagBody.js';
import { audioBodyHeaderLength, audioConfigBodyHeaderLength, writeAudioBodyHeader, writeAudioConfigBodyHeader } from './audioTagBody.js';
import { buildMetadataBody } from './scriptTag.js';

/**
 * FLV byte writers. Every function returns one freshly allocated buffer holding a whole unit
 * (header, or tag header + body + PreviousTagSize), so an output can write it to many viewers
 * without further copies. Timestamps are ms, rounded, clamped at 0, wrapped at 2^32.
 */

export const FLV_TAG_AUDIO = 8;
export const FLV_TAG_VIDEO = 9;
export const FLV_TAG_SCRIPT = 18;
export const FLV_TAG_HEADER_LENGTH = 11;
/** The largest body an FLV tag header can express (24-bit size). */
export const FLV_MAX_BODY = 0xffffff;

/** The 9-byte file header followed by PreviousTagSize0. */
export function flvHeader(hasVideo: boolean, hasAudio: boolean): Uint8Array {
  return new Uint8Array([0x46, 0x4c, 0x56, 1, (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
}

/** Allocates a tag of `bodyLength`, writes its header and trailer; the caller fills the body at offset 11. */
function allocTag(type: number, timestampMs: number, bodyLength: number): Uint8Array {
  if (bodyLength > FLV_MAX_BODY) throw new RangeError(`FLV tag body of ${bodyLength} bytes exceeds 24-bit size`);
  const out = new Uint8Array(FLV_TAG_HEADER_LENGTH + bodyLength + 4);
  out[0] = type;
  out[1] = bodyLength >>> 16;
  out[2] = (bodyLength >>> 8) & 0xff;
  out[3] = bodyLength & 0xff;
  writeTagTimestamp(out, 0, timestampMs);
  const prev = FLV_TAG_HEADER_LENGTH + bodyLength;
  out[prev] = prev >>> 24;
  out[prev + 1] = (prev >>> 16) & 0xff;
  out[prev + 2] = (prev >>> 8) & 0xff;
  out[prev + 3] = prev & 0xff;
  return out;
}

/** Rewrites the timestamp of the tag starting at `tag[pos]` (e.g. to rebase a shared tag's copy). */
export function writeTagTimestamp(tag: Uint8Array, pos: number, timestampMs: number): void {
  const t = Math.max(0, Math.round(timestampMs)) >>> 0;
  tag[pos + 4] = (t >>> 16) & 0xff;
  tag[pos + 5] = (t >>> 8) & 0xff;
  tag[pos + 6] = t & 0xff;
  tag[pos + 7] = t >>> 24;
}

/** A whole tag (header + body + PreviousTagSize) from a ready body. */
export function muxTag(type: number, timestampMs: number, body: Uint8Array): Uint8Array {
  const out = allocTag(type, timestampMs, body.length);
  out.set(body, FLV_TAG_HEADER_LENGTH);
  return out;
}

/** A whole tag for a frame, built in one allocation; `timestampMs` defaults to the frame's dts. */
export function frameTag(frame: MediaFrame, timestampMs = frame.dts): Uint8Array {
  if (frame.kind === 'data') return muxTag(FLV_TAG_SCRIPT, timestampMs, frame.data);
  const video = frame.kind === 'video';
  const head = video ? videoBodyHeaderLength(frame) : audioBodyHeaderLength(frame);
  const out = allocTag(video ? FLV_TAG_VIDEO : FLV_TAG_AUDIO, timestampMs, head + frame.data.length);
  if (video) writeVideoBodyHeader(frame, out, FLV_TAG_HEADER_LENGTH);
  else writeAudioBodyHeader(frame, out, FLV_TAG_HEADER_LENGTH);
  out.set(frame.data, FLV_TAG_HEADER_LENGTH + head);
  return out;
}

/** A whole sequence-header tag for a codec config. */
export function configTag(config: CodecConfig, timestampMs = 0): Uint8Array {
  const video = config.kind === 'video';
  const head = video ? videoConfigBodyHeaderLength(config) : audioConfigBodyHeaderLength(config);
  const out = allocTag(video ? FLV_TAG_VIDEO : FLV_TAG_AUDIO, timestampMs, head + config.data.length);
  if (video) writeVideoConfigBodyHeader(config, out, FLV_TAG_HEADER_LENGTH);
  else writeAudioConfigBodyHeader(config, out, FLV_TAG_HEADER_LENGTH);
  out.set(config.data, FLV_TAG_HEADER_LENGTH + head);
  return out;
}

/** An onMetaData script tag. */
export function metadataTag(values: Record<string, unknown>, timestampMs = 0): Uint8Array {
  return muxTag(FLV_TAG_SCRIPT, timestampMs, buildMetadataBody(values));
}

/**
 * onMetaData values for a stream's configs, in the names players read
 * (width, height, videocodecid, audiocodecid, audiosamplerate, stereo).
 */
export function metadataFor(video: CodecConfig | undefined, audio: CodecConfig | undefined): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (video) {
    if (video.width) m.width = video.width;
    if (video.height) m.height = video.height;
    m.videocodecid = video.codec === 'h264' ? 7 : video.codec === 'hevc' ? 12 : 0;
  }
  if (audio) {
    m.audiocodecid = audio.codec === 'aac' ? 10 : audio.codec === 'mp3' ? 2 : 9;
    if (audio.sampleRate) m.audiosamplerate = audio.sampleRate;
    if (audio.channels) m.stereo = audio.channels > 1;
  }
  return m;
}
