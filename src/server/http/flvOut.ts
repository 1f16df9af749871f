import { Amf0EcmaArray, encodeAmf0 } from '../../media/amf0.js';
import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import {
  audioBodyHeaderLength, audioConfigBodyHeaderLength, videoBodyHeaderLength, videoConfigBodyHeaderLength,
  writeAudioBodyHeader, writeAudioConfigBodyHeader, writeVideoBodyHeader, writeVideoConfigBodyHeader,
} from '../../media/flv/tagBody.js';

/*
 * FLV file framing for the HTTP outputs: the 13-byte file header, and whole tags (11-byte tag
 * header, body, PreviousTagSize) written into one buffer per frame. Tag bodies come from
 * src/media/flv (legacy AVC/AAC and enhanced-RTMP HEVC/AV1/Opus alike).
 */

const TAG_HEADER = 11;
const AUDIO = 8;
const VIDEO = 9;
const SCRIPT = 18;

/** Allocates a tag of `bodySize`, writes the tag header and trailer; the caller fills the body at 11. */
function allocTag(type: number, ts: number, bodySize: number): Uint8Array {
  const out = new Uint8Array(TAG_HEADER + bodySize + 4);
  const t = Math.max(0, Math.round(ts)) >>> 0;
  out[0] = type;
  out[1] = (bodySize >>> 16) & 0xff;
  out[2] = (bodySize >>> 8) & 0xff;
  out[3] = bodySize & 0xff;
  out[4] = (t >>> 16) & 0xff;
  out[5] = (t >>> 8) & 0xff;
  out[6] = t & 0xff;
  out[7] = (t >>> 24) & 0xff;
  const prev = TAG_HEADER + bodySize;
  const p = prev;
  out[p] = (prev >>> 24) & 0xff;
  out[p + 1] = (prev >>> 16) & 0xff;
  out[p + 2] = (prev >>> 8) & 0xff;
  out[p + 3] = prev & 0xff;
  return out;
}

export function flvFileHeader(hasVideo: boolean, hasAudio: boolean): Uint8Array {
  return new Uint8Array([0x46, 0x4c, 0x56, 1, (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
}

/** onMetaData as the publisher sent it (width, height, codec ids...); players show it. */
export function flvMetadataTag(metadata: Record<string, unknown>, ts: number): Uint8Array {
  const body = encodeAmf0('onMetaData', new Amf0EcmaArray(metadata));
  const tag = allocTag(SCRIPT, ts, body.length);
  tag.set(body, TAG_HEADER);
  return tag;
}

/** Sequence-header tags for the tracks present (MP3 has none). */
export function flvConfigTags(video: CodecConfig | undefined, audio: CodecConfig | undefined, ts: number): Uint8Array[] {
  const tags: Uint8Array[] = [];
  if (video) {
    const head = videoConfigBodyHeaderLength(video);
    const tag = allocTag(VIDEO, ts, head + video.data.length);
    writeVideoConfigBodyHeader(video, tag, TAG_HEADER);
    tag.set(video.data, TAG_HEADER + head);
    tags.push(tag);
  }
  if (audio && audio.codec !== 'mp3') {
    const head = audioConfigBodyHeaderLength(audio);
    const tag = allocTag(AUDIO, ts, head + audio.data.length);
    writeAudioConfigBodyHeader(audio, tag, TAG_HEADER);
    tag.set(audio.data, TAG_HEADER + head);
    tags.push(tag);
  }
  return tags;
}

/** One frame as one tag, its time rebased by `base` ms; undefined for script data. */
export function flvFrameTag(frame: MediaFrame, base: number): Uint8Array | undefined {
  const ts = frame.dts - base;
  if (frame.kind === 'video') {
    const head = videoBodyHeaderLength(frame);
    const tag = allocTag(VIDEO, ts, head + frame.data.length);
    writeVideoBodyHeader(frame, tag, TAG_HEADER);
    tag.set(frame.data, TAG_HEADER + head);
    return tag;
  }
  if (frame.kind === 'audio') {
    const head = audioBodyHeaderLength(frame);
    const tag = allocTag(AUDIO, ts, head + frame.data.length);
    writeAudioBodyHeader(frame, tag, TAG_HEADER);
    tag.set(frame.data, TAG_HEADER + head);
    return tag;
  }
  return undefined;
}
