import type { CodecConfig, MediaFrame } from '../media/frame.js';
import { EnhancedEmitter } from '../util/EnhancedEmitter.js';
import type { Publisher } from './Publisher.js';
import type { Subscriber } from './Subscriber.js';

/** The GOP cache never holds more than this, whatever the publisher sends. */
const MAX_GOP_BYTES = 16 << 20;
const MAX_GOP_FRAMES = 3000;
/**
 * With no video keyframe to start from (an audio-only stream), the cache keeps only this much
 * of the newest audio, so a late joiner starts near live instead of at the stream's start.
 */
const AUDIO_WINDOW_MS = 1500;
/** Where a returning publisher's first frame lands: just after the last frame viewers had. */
const RESTART_STEP_MS = 40;
/** Window of the bitrate / fps estimates. */
const RATE_WINDOW_MS = 2000;

export type StreamEvents = {
  publish: [Publisher];
  unpublish: [Publisher];
  config: [CodecConfig];
  frame: [MediaFrame];
  subscribe: [Subscriber];
  unsubscribe: [Subscriber];
  close: [];
};

export class PublishRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishRefusedError';
  }
}

/**
 * One live stream (app/key). Keeps the codec configs and the frames since the last keyframe,
 * so a new viewer starts on a keyframe at once, and fans frames out to its subscribers.
 *
 * Viewers outlive a publisher: when one leaves and another publishes the same key (its App
 * closes the stream if none does within the grace), viewers get the new publisher's configs,
 * then its media from its first keyframe on, on one timeline: the new publisher's timestamps
 * are offset so they continue just after the last frame viewers had. Players see a pause of
 * the restart's length, never a jump back in time, so no output rebases per viewer.
 */
export class Stream extends EnhancedEmitter<StreamEvents> {
  readonly subscribers = new Map<string, Subscriber>();
  publisher: Publisher | undefined;
  videoConfig: CodecConfig | undefined;
  audioConfig: CodecConfig | undefined;
  metadata: Record<string, unknown> | undefined;
  publishedAt: number | undefined;
  /** Frames since the last video keyframe (audio included), oldest first. */
  private gop: MediaFrame[] = [];
  private gopBytes = 0;
  private rate = { windowStart: 0, bytes: 0, videoFrames: 0, kbps: 0, fps: 0 };
  /** Age of the newest frame (now - captureTime) when it reached the server, ms. */
  ingestDelayMs: number | undefined;
  framesIn = 0;
  /** Video frames among framesIn (the dashboard's fps is their rate between two samples). */
  videoFramesIn = 0;
  bytesIn = 0;
  /** Frames refused because their timestamps went backwards or they came before config. */
  framesDropped = 0;
  private lastDts = { video: -Infinity, audio: -Infinity };
  /** Newest dts handed to viewers, on the stream's timeline (after the offset). */
  private lastOutDts = -Infinity;
  /** Added to the current publisher's timestamps (0 for the first publisher). */
  private tsOffset = 0;
  /** A publisher left after frames went out: the next publisher's first frame sets tsOffset. */
  private rebase = false;
  private closed = false;

  constructor(
    readonly app: string,
    readonly key: string,
  ) {
    super();
    // Each viewer listens for 'unpublish' (thousands on a busy stream); the viewer limits bound them.
    this.setMaxListeners(0);
  }

  get path(): string {
    return `${this.app}/${this.key}`;
  }

  get isLive(): boolean {
    return this.publisher !== undefined;
  }

  /** Attaches the publisher. A live stream refuses a second publisher (no silent takeover). */
  publish(publisher: Publisher): void {
    if (this.closed) throw new PublishRefusedError(`stream ${this.path} is closed`);
    // A cluster relay (src/cluster) only stands in for a publisher elsewhere: a local one replaces it.
    if (this.publisher?.protocol === 'relay' && publisher.protocol !== 'relay') this.publisher.close('a publisher arrived on this node');
    if (this.publisher) throw new PublishRefusedError(`stream ${this.path} is already being published`);
    this.publisher = publisher;
    this.publishedAt = Date.now();
    // The previous publisher's configs are not this one's: frames wait for its own.
    this.videoConfig = undefined;
    this.audioConfig = undefined;
    this.metadata = undefined;
    if (this.rebase) for (const sub of this.subscribers.values()) sub.resync();
    this.safeEmit('publish', publisher);
  }

  /** Detaches the publisher (it disconnected). Viewers stay and get the next publisher's media. */
  unpublish(publisher: Publisher): void {
    if (this.publisher !== publisher) return;
    this.publisher = undefined;
    this.publishedAt = undefined;
    this.gop = [];
    this.gopBytes = 0;
    if (this.lastOutDts > -Infinity) this.rebase = true;
    this.safeEmit('unpublish', publisher);
  }

  pushConfig(config: CodecConfig): void {
    if (config.kind === 'video') this.videoConfig = config;
    else this.audioConfig = config;
    this.gop = [];
    this.gopBytes = 0;
    for (const sub of this.subscribers.values()) sub.onConfig(this.videoConfig, this.audioConfig, this.metadata);
    this.safeEmit('config', config);
  }

  pushMetadata(values: Record<string, unknown>): void {
    this.metadata = values;
  }

  /**
   * Takes one frame from the publisher. Frames before their track's config, and frames whose
   * dts goes backwards by more than a second, are dropped and counted (a decoder would choke).
   */
  pushFrame(frame: MediaFrame, now = Date.now()): void {
    if (frame.kind === 'video' && !this.videoConfig) return void this.framesDropped++;
    if (frame.kind === 'audio' && !this.audioConfig) return void this.framesDropped++;
    if (this.rebase) {
      this.rebase = false;
      this.tsOffset = this.lastOutDts + RESTART_STEP_MS - frame.dts;
    }
    if (this.tsOffset !== 0) frame = { ...frame, dts: frame.dts + this.tsOffset, pts: frame.pts + this.tsOffset };
    if (frame.kind === 'video' || frame.kind === 'audio') {
      const last = this.lastDts[frame.kind];
      if (frame.dts < last - 1000) return void this.framesDropped++;
      this.lastDts[frame.kind] = Math.max(last, frame.dts);
    }
    this.lastOutDts = Math.max(this.lastOutDts, frame.dts);
    this.framesIn++;
    if (frame.kind === 'video') this.videoFramesIn++;
    this.bytesIn += frame.data.length;
    if (frame.captureTime !== undefined) this.ingestDelayMs = now - frame.captureTime;
    this.updateRate(frame, now);
    this.cache(frame);
    for (const sub of this.subscribers.values()) sub.deliver(frame);
    this.safeEmit('frame', frame);
  }

  /** Adds a viewer: it gets the configs and the cached GOP at once, then live frames. */
  subscribe(sub: Subscriber): void {
    this.subscribers.set(sub.id, sub);
    if (this.videoConfig || this.audioConfig) sub.onConfig(this.videoConfig, this.audioConfig, this.metadata);
    for (const frame of this.gop) sub.deliver(frame);
    this.safeEmit('subscribe', sub);
  }

  unsubscribe(sub: Subscriber): void {
    if (this.subscribers.delete(sub.id)) this.safeEmit('unsubscribe', sub);
  }

  /** Frames since the last keyframe; outputs that build segments (LL-HLS) read it on start. */
  gopFrames(): readonly MediaFrame[] {
    return this.gop;
  }

  viewerCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const sub of this.subscribers.values()) counts[sub.protocol] = (counts[sub.protocol] ?? 0) + 1;
    return counts;
  }

  /** Kilobits per second and video frames per second over the last ~2 s. */
  rates(): { kbps: number; fps: number } {
    return { kbps: this.rate.kbps, fps: this.rate.fps };
  }

  /** Idempotent: kicks the publisher and every viewer. */
  close(reason = 'stream closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.publisher?.close(reason);
    for (const sub of [...this.subscribers.values()]) sub.close(reason, true);
    this.subscribers.clear();
    this.safeEmit('close');
  }

  private cache(frame: MediaFrame): void {
    if (frame.kind === 'video' && frame.keyframe) {
      this.gop = [];
      this.gopBytes = 0;
    }
    const head = this.gop[0];
    if (head && !(head.kind === 'video' && head.keyframe)) {
      // No keyframe to start from (audio-only, or audio before the first keyframe): a sliding
      // window of the newest audio instead of a cache that fills once and then goes stale.
      let drop = 0;
      while (drop < this.gop.length && this.gop[drop]!.dts < frame.dts - AUDIO_WINDOW_MS) this.gopBytes -= this.gop[drop++]!.data.length;
      if (drop > 0) this.gop.splice(0, drop);
    }
    if (this.gop.length >= MAX_GOP_FRAMES || this.gopBytes + frame.data.length > MAX_GOP_BYTES) {
      // A publisher that never sends a keyframe: stop caching rather than grow without bound.
      return;
    }
    if (this.gop.length === 0 && frame.kind === 'video' && !frame.keyframe) return;
    this.gop.push(frame);
    this.gopBytes += frame.data.length;
  }

  private updateRate(frame: MediaFrame, now: number): void {
    const r = this.rate;
    if (r.windowStart === 0) r.windowStart = now;
    r.bytes += frame.data.length;
    if (frame.kind === 'video') r.videoFrames++;
    const elapsed = now - r.windowStart;
    if (elapsed >= RATE_WINDOW_MS) {
      r.kbps = (r.bytes * 8) / elapsed;
      r.fps = (r.videoFrames * 1000) / elapsed;
      r.windowStart = now;
      r.bytes = 0;
      r.videoFrames = 0;
    }
  }
}
