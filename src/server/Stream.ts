import type { CodecConfig, MediaFrame } from '../media/frame.js';
import { EnhancedEmitter } from '../util/EnhancedEmitter.js';
import { sameConfig, StandbyFeed } from './backup/StandbyFeed.js';
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
  /** A second publisher stands by (main/backup publishing). */
  standby: [Publisher];
  /** The stream now takes its media from `to` (the standby was promoted); `from` is the previous one. */
  switch: [to: Publisher, from: Publisher];
};

export interface StreamOptions {
  /** A second publisher may publish while one does, as hot standby (App option `backup`). Default false. */
  backup?: boolean;
  /** The main publisher silent this long (no frame), ms, with a standby ready: switch. Default 300. */
  silenceMs?: number;
}

/** Main silent this long, with a standby ready, and the stream switches to the standby. */
export const DEFAULT_SILENCE_MS = 300;

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
  /** The hot-standby publisher, when main/backup publishing is on and a second one publishes. */
  standby: Publisher | undefined;
  private standbyFeed: StandbyFeed | undefined;
  /** Server clock of the active publisher's newest frame (or of its publish), ms. */
  private activeAt = -Infinity;
  /** Times the stream switched from one publisher to the other (main/backup). */
  switches = 0;
  readonly silenceMs: number;
  /** The standby takes over at its first keyframe (publish's takeOver). */
  private takeOver = false;
  private lastCheckAt = -Infinity;
  /** Viewers of this node's own backup publisher's raw media (subscribeBackup): cluster edges' standby relays. */
  private readonly backupSubs = new Set<Subscriber>();

  constructor(
    readonly app: string,
    readonly key: string,
    readonly options: StreamOptions = {},
  ) {
    super();
    // Each viewer listens for 'unpublish' (thousands on a busy stream); the viewer limits bound them.
    this.setMaxListeners(0);
    this.silenceMs = options.silenceMs ?? DEFAULT_SILENCE_MS;
  }

  get path(): string {
    return `${this.app}/${this.key}`;
  }

  get isLive(): boolean {
    return this.publisher !== undefined;
  }

  /**
   * Attaches the publisher. A live stream refuses a second publisher (no silent takeover),
   * unless the stream allows a backup (options.backup) and the caller routes its pushes with
   * `from` (`standby: true`): then the second one stands by and 'standby' is returned. A third
   * is refused, unless the standby is silent (a dead connection not timed out yet): it is replaced.
   * `takeOver`: the standby becomes the active one at its first keyframe (a cluster relay from
   * the stream's owner, in front of this node's own backup publisher).
   */
  publish(publisher: Publisher, opts: { standby?: boolean; takeOver?: boolean } = {}, now = Date.now()): 'main' | 'standby' {
    if (this.closed) throw new PublishRefusedError(`stream ${this.path} is closed`);
    // A cluster relay (src/cluster) only stands in for a publisher elsewhere: a local one replaces
    // it, unless the app has backups (then the owner's relay stays main and the local one stands by).
    if (this.publisher?.protocol === 'relay' && publisher.protocol !== 'relay' && !this.options.backup) this.publisher.close('a publisher arrived on this node');
    if (this.publisher) {
      if (!opts.standby || !this.options.backup) throw new PublishRefusedError(`stream ${this.path} is already being published`);
      if (this.standby) {
        if (now - this.standbyFeed!.lastFrameAt <= this.silenceMs) throw new PublishRefusedError(`stream ${this.path} already has a main and a backup publisher`);
        const silent = this.standby;
        this.standby = undefined;
        this.standbyFeed = undefined;
        silent.close('replaced by a new backup publisher');
      }
      this.standby = publisher;
      this.standbyFeed = new StandbyFeed();
      // Counted as heard from when it attaches: a third publisher arriving at once does not replace it.
      this.standbyFeed.lastFrameAt = now;
      this.takeOver = opts.takeOver ?? false;
      this.safeEmit('standby', publisher);
      return 'standby';
    }
    this.publisher = publisher;
    this.publishedAt = now;
    this.activeAt = now;
    // The previous publisher's configs are not this one's: frames wait for its own.
    this.videoConfig = undefined;
    this.audioConfig = undefined;
    this.metadata = undefined;
    if (this.rebase) for (const sub of this.subscribers.values()) sub.resync();
    this.safeEmit('publish', publisher);
    return 'main';
  }

  /**
   * Detaches the publisher (it disconnected). Viewers stay and get the next publisher's media:
   * the standby's at once when there is one, else whoever publishes within the grace.
   */
  unpublish(publisher: Publisher, now = Date.now()): void {
    if (publisher === this.standby) {
      this.standby = undefined;
      this.standbyFeed = undefined;
      this.takeOver = false;
      return;
    }
    if (this.publisher !== publisher) return;
    if (this.standby) return this.promote(now, false);
    this.publisher = undefined;
    this.publishedAt = undefined;
    this.gop = [];
    this.gopBytes = 0;
    if (this.lastOutDts > -Infinity) this.rebase = true;
    this.safeEmit('unpublish', publisher);
  }

  /** `from`: the pushing publisher, for callers that may be a standby (see publish); omitted, the active one. */
  pushConfig(config: CodecConfig, from?: Publisher): void {
    if (from !== undefined && from === this.backupSource()) for (const sub of this.backupSubs) sub.onConfig(...this.backupConfigs(config));
    if (from !== undefined && from !== this.publisher) return void (from === this.standby && this.standbyFeed!.pushConfig(config));
    if (config.kind === 'video') this.videoConfig = config;
    else this.audioConfig = config;
    this.gop = [];
    this.gopBytes = 0;
    for (const sub of this.subscribers.values()) sub.onConfig(this.videoConfig, this.audioConfig, this.metadata);
    this.safeEmit('config', config);
  }

  pushMetadata(values: Record<string, unknown>, from?: Publisher): void {
    if (from !== undefined && from !== this.publisher) return void (from === this.standby && (this.standbyFeed!.metadata = values));
    this.metadata = values;
  }

  /**
   * Takes one frame from the publisher. Frames before their track's config, and frames whose
   * dts goes backwards by more than a second, are dropped and counted (a decoder would choke).
   */
  pushFrame(frame: MediaFrame, now = Date.now(), from?: Publisher): void {
    if (this.backupSubs.size > 0 && from !== undefined && from === this.backupSource()) for (const sub of this.backupSubs) sub.deliver(frame);
    if (from !== undefined && from !== this.publisher) {
      if (from !== this.standby) return;
      this.standbyFeed!.pushFrame(frame, now);
      // A switch waiting for the standby's keyframe happens on it.
      if (frame.kind === 'video' && frame.keyframe) this.checkSilence(now);
      return;
    }
    this.activeAt = now;
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

  /**
   * Main/backup: the active publisher has sent nothing for silenceMs and the standby is alive
   * and holds a keyframe: the stream switches to it, and the silent one becomes the standby (if
   * it comes back it stands by: no flapping). The App calls this every ~50 ms while a standby exists.
   */
  checkSilence(now: number): void {
    const feed = this.standbyFeed;
    // This process stalled (a loaded machine): what arrived meanwhile is still unread in the
    // socket (timers run before I/O), so the silence may be ours, not the publisher's: next time.
    const stalled = now - this.lastCheckAt > this.silenceMs / 2;
    this.lastCheckAt = now;
    if (stalled && !this.takeOver) return;
    if (!this.publisher || !this.standby || !feed?.ready) return;
    // A relay whose whole session went quiet: its node may only be stalled (a loaded machine); it
    // gets three times as long before the switch. Media stopping on a live session is the publisher
    // upstream gone. (Without media a relay session still hears its pings answered every ~200 ms,
    // so "quiet" is twice the silence, not the silence itself.)
    const quiet = this.publisher.heardAgoMs?.(now);
    const limit = quiet !== undefined && quiet > 2 * this.silenceMs ? 3 * this.silenceMs : this.silenceMs;
    if (!this.takeOver && (now - this.activeAt <= limit || now - feed.lastFrameAt > this.silenceMs)) return;
    this.promote(now, true);
  }

  /** The standby's figures, for the API. */
  standbyStats(): { framesIn: number; bytesIn: number; ready: boolean; lastFrameAgoMs: number } | undefined {
    const f = this.standbyFeed;
    return f ? { framesIn: f.framesIn, bytesIn: f.bytesIn, ready: f.ready, lastFrameAgoMs: Math.round(Date.now() - f.lastFrameAt) } : undefined;
  }

  /**
   * The standby takes over. Viewers stay: configs only go to them if the standby's differ, then
   * its frames from its newest keyframe, rebased so the keyframe lands just after the last frame
   * viewers had (timestamps never go back). `keepOld`: the old publisher is still connected
   * (silent) and becomes the standby.
   */
  private promote(now: number, keepOld: boolean): void {
    const from = this.publisher!;
    const to = this.standby!;
    const feed = this.standbyFeed!;
    this.publisher = to;
    this.standby = keepOld ? from : undefined;
    this.standbyFeed = keepOld ? new StandbyFeed(this.videoConfig, this.audioConfig, this.metadata) : undefined;
    if (this.standbyFeed) this.standbyFeed.lastFrameAt = now;
    this.publishedAt = now;
    this.activeAt = now;
    this.switches++;
    this.takeOver = false;
    this.gop = [];
    this.gopBytes = 0;
    const video = sameConfig(this.videoConfig, feed.video) ? this.videoConfig : (feed.video ?? this.videoConfig);
    const audio = sameConfig(this.audioConfig, feed.audio) ? this.audioConfig : (feed.audio ?? this.audioConfig);
    const changed = video !== this.videoConfig || audio !== this.audioConfig;
    this.videoConfig = video;
    this.audioConfig = audio;
    if (feed.metadata) this.metadata = feed.metadata;
    if (this.lastOutDts > -Infinity) this.rebase = true;
    for (const sub of this.subscribers.values()) {
      sub.resync();
      if (changed) sub.onConfig(this.videoConfig, this.audioConfig, this.metadata);
    }
    if (changed) for (const c of [video, audio]) if (c) this.safeEmit('config', c);
    this.safeEmit('switch', to, from);
    for (const f of feed.gop) this.pushFrame(f, now);
  }

  /**
   * This node's backup publisher, for cluster edges that keep it at hand (src/cluster Relays):
   * the local (not relayed) standby if there is one, else the local active publisher.
   */
  private backupSource(): Publisher | undefined {
    if (!this.options.backup) return undefined;
    if (this.standby && this.standby.protocol !== 'relay') return this.standby;
    return this.publisher && this.publisher.protocol !== 'relay' ? this.publisher : undefined;
  }

  /** The configs of the backup source, with `changed` in place of its kind. */
  private backupConfigs(changed?: CodecConfig): [CodecConfig | undefined, CodecConfig | undefined, Record<string, unknown> | undefined] {
    const src = this.backupSource();
    const f = src !== undefined && src === this.standby ? this.standbyFeed : undefined;
    let video = f ? f.video : this.videoConfig;
    let audio = f ? f.audio : this.audioConfig;
    if (changed?.kind === 'video') video = changed;
    if (changed?.kind === 'audio') audio = changed;
    return [video, audio, f ? f.metadata : this.metadata];
  }

  /**
   * Subscribes to this node's own publisher of the stream as it arrives (its timestamps, not
   * rebased; from its next keyframe), whichever role it has here: a cluster edge keeps this as
   * its standby relay, so its switch to the backup needs nothing from the network at that
   * moment. Only in an app with backups.
   */
  subscribeBackup(sub: Subscriber): boolean {
    if (!this.backupSource()) return false;
    this.backupSubs.add(sub);
    const [video, audio, metadata] = this.backupConfigs();
    if (video || audio) sub.onConfig(video, audio, metadata);
    return true;
  }

  unsubscribeBackup(sub: Subscriber): void {
    this.backupSubs.delete(sub);
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
    this.standby?.close(reason);
    for (const sub of [...this.subscribers.values(), ...this.backupSubs]) sub.close(reason, true);
    this.subscribers.clear();
    this.backupSubs.clear();
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
