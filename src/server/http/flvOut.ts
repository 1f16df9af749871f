import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { configTag, flvHeader, frameTag, metadataFor, metadataTag } from '../../media/flv/FlvMuxer.js';

/*
 * What an FLV viewer is sent, on top of src/media/flv's muxer: which tags a join needs, one tag
 * per frame shared by every viewer, and never a throw into the fan-out loop (a frame the muxer
 * refuses is skipped).
 */

/**
 * Each frame's tag, built once: the Stream hands the same frame object to every viewer (and
 * to late joiners from its GOP cache), so with N viewers a frame costs one allocation, not N.
 * Tags carry the publisher's own timestamps for the same reason (no per-viewer rebasing);
 * players start from whatever the first tag says.
 */
const shared = new WeakMap<MediaFrame, Uint8Array | null>();

export function flvFileHeader(hasVideo: boolean, hasAudio: boolean): Uint8Array {
  return flvHeader(hasVideo, hasAudio);
}

/** onMetaData: the publisher's, else one made from the configs (players read sizes from it). */
export function flvMetadataTag(
  metadata: Record<string, unknown> | undefined,
  video: CodecConfig | undefined,
  audio: CodecConfig | undefined,
): Uint8Array | undefined {
  try {
    return metadataTag(metadata ?? metadataFor(video, audio), 0);
  } catch {
    return undefined;
  }
}

/** Sequence-header tags for the tracks present (MP3 has none). */
export function flvConfigTags(video: CodecConfig | undefined, audio: CodecConfig | undefined, ts: number): Uint8Array[] {
  const tags: Uint8Array[] = [];
  for (const c of [video, audio]) {
    if (!c || c.codec === 'mp3') continue;
    try {
      tags.push(configTag(c, ts));
    } catch {
      /* a config the muxer can't carry: the viewer gets the other track */
    }
  }
  return tags;
}

/** One frame as one tag (shared, never mutate it); undefined when it can't be carried. */
export function flvFrameTag(frame: MediaFrame): Uint8Array | undefined {
  if (frame.kind === 'data') return undefined;
  let tag = shared.get(frame);
  if (tag === undefined) {
    try {
      tag = frameTag(frame, frame.dts);
    } catch {
      tag = null;
    }
    shared.set(frame, tag);
  }
  return tag ?? undefined;
}
