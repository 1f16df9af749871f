import type { CodecConfig, MediaFrame } from '../../media/frame.js';

/*
 * FLV bytes for the HTTP outputs. STOPGAP: the FLV muxer belongs in src/media/flv (another
 * helper's part, not landed when this was written); once it lands these four functions become
 * thin calls into it. Only what HTTP-FLV needs today: H.264 and AAC tags.
 */

const TAG_HEADER = 11;

function tag(type: 8 | 9 | 18, ts: number, prefix: Uint8Array, body: Uint8Array): Uint8Array {
  const size = prefix.length + body.length;
  const out = new Uint8Array(TAG_HEADER + size + 4);
  const t = Math.max(0, Math.round(ts)) >>> 0;
  out[0] = type;
  out[1] = (size >>> 16) & 0xff;
  out[2] = (size >>> 8) & 0xff;
  out[3] = size & 0xff;
  out[4] = (t >>> 16) & 0xff;
  out[5] = (t >>> 8) & 0xff;
  out[6] = t & 0xff;
  out[7] = (t >>> 24) & 0xff;
  out.set(prefix, TAG_HEADER);
  out.set(body, TAG_HEADER + prefix.length);
  const prev = TAG_HEADER + size;
  const p = TAG_HEADER + size;
  out[p] = (prev >>> 24) & 0xff;
  out[p + 1] = (prev >>> 16) & 0xff;
  out[p + 2] = (prev >>> 8) & 0xff;
  out[p + 3] = prev & 0xff;
  return out;
}

export function flvFileHeader(hasVideo: boolean, hasAudio: boolean): Uint8Array {
  return new Uint8Array([0x46, 0x4c, 0x56, 1, (hasAudio ? 4 : 0) | (hasVideo ? 1 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
}

/** onMetaData is not written by the stopgap (players take sizes from the configs). */
export function flvMetadataTag(_metadata: Record<string, unknown>, _ts: number): Uint8Array {
  return new Uint8Array(0);
}

export function flvConfigTags(video: CodecConfig | undefined, audio: CodecConfig | undefined, ts: number): Uint8Array[] {
  const tags: Uint8Array[] = [];
  if (video?.codec === 'h264') tags.push(tag(9, ts, new Uint8Array([0x17, 0, 0, 0, 0]), video.data));
  if (audio?.codec === 'aac') tags.push(tag(8, ts, new Uint8Array([0xaf, 0]), audio.data));
  return tags;
}

/** One frame as a tag, its time rebased by `base` ms; undefined for codecs not carried. */
export function flvFrameTag(frame: MediaFrame, base: number): Uint8Array | undefined {
  const ts = frame.dts - base;
  if (frame.codec === 'h264') {
    const cts = Math.round(frame.pts - frame.dts) & 0xffffff;
    const kind = frame.keyframe ? 1 : frame.reference ? 2 : 3;
    return tag(9, ts, new Uint8Array([(kind << 4) | 7, 1, (cts >>> 16) & 0xff, (cts >>> 8) & 0xff, cts & 0xff]), frame.data);
  }
  if (frame.codec === 'aac') return tag(8, ts, new Uint8Array([0xaf, 1]), frame.data);
  return undefined;
}
