import type { CodecConfig, MediaFrame } from '../../media/frame.js';

/** What a standby keeps is bounded like the stream's own GOP cache, whatever its publisher sends. */
const MAX_GOP_BYTES = 16 << 20;
const MAX_GOP_FRAMES = 3000;

/**
 * What a hot-standby publisher has sent while another publisher feeds the stream: its codec
 * configs, its metadata and its frames since its newest video keyframe. When the stream
 * switches to it, the switch starts on that keyframe at once instead of waiting up to a GOP
 * for the next one. Nothing here reaches viewers until the switch.
 */
export class StandbyFeed {
  video: CodecConfig | undefined;
  audio: CodecConfig | undefined;
  metadata: Record<string, unknown> | undefined;
  /** Frames from the newest keyframe on (audio included); empty until the first keyframe. */
  gop: MediaFrame[] = [];
  /** Server clock of the newest frame, ms (-Infinity before any). */
  lastFrameAt = -Infinity;
  framesIn = 0;
  bytesIn = 0;
  /** Frames before their track's config, or beyond the bounds. */
  framesDropped = 0;
  private gopBytes = 0;

  constructor(
    /** Configs the publisher is known to have (a demoted main keeps the ones viewers had). */
    video?: CodecConfig,
    audio?: CodecConfig,
    metadata?: Record<string, unknown>,
  ) {
    this.video = video;
    this.audio = audio;
    this.metadata = metadata;
  }

  pushConfig(config: CodecConfig): void {
    if (config.kind === 'video') this.video = config;
    else this.audio = config;
    // Frames coded with the old config cannot follow the new one.
    this.gop = [];
    this.gopBytes = 0;
  }

  pushFrame(frame: MediaFrame, now: number): void {
    if ((frame.kind === 'video' && !this.video) || (frame.kind === 'audio' && !this.audio)) return void this.framesDropped++;
    this.lastFrameAt = now;
    this.framesIn++;
    this.bytesIn += frame.data.length;
    if (frame.kind === 'video' && frame.keyframe) {
      this.gop = [];
      this.gopBytes = 0;
    }
    if (this.gop.length === 0 && !(frame.kind === 'video' && frame.keyframe)) return;
    if (this.gop.length >= MAX_GOP_FRAMES || this.gopBytes + frame.data.length > MAX_GOP_BYTES) return void this.framesDropped++;
    this.gop.push(frame);
    this.gopBytes += frame.data.length;
  }

  /** A switch can start here now: it holds a keyframe. */
  get ready(): boolean {
    return this.gop.length > 0;
  }
}

/** Same codec and same configuration record: viewers need no new sequence header. */
export function sameConfig(a: CodecConfig | undefined, b: CodecConfig | undefined): boolean {
  if (!a || !b) return false;
  return a.kind === b.kind && a.codec === b.codec && Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(b.data);
}
