import { join } from 'node:path';
import type { CodecConfig, MediaFrame } from '../media/frame.js';
import { Subscriber } from '../server/Subscriber.js';
import type { Stream } from '../server/Stream.js';
import { flvConfigTags, flvFileHeader, flvFrameTag, flvMetadataTag } from '../server/http/flvOut.js';
import { DiskQueue, type OpenFile } from './DiskQueue.js';
import { INDEX_FILE, segmentName } from './pathTemplate.js';

/** A local feed's next publisher continues this long after the last frame (the Stream's step). */
const RESTART_STEP_MS = 40;

export interface RecordingOptions {
  /** A segment is cut at the first keyframe this long after its start, ms. */
  segmentMs: number;
  /** Bytes waiting for the disk above which frames are dropped up to the next keyframe. */
  queueBytes: number;
  /** What every recording of the process holds together, and the cap on it (the Recorder's). */
  pool?: { bytes: number; limit: number };
  openFile?: OpenFile;
  now?: () => number;
  /**
   * Main/backup: record this node's own publisher (Stream.subscribeBackup: its frames whether
   * it stands by or is on air, with its own timestamps) instead of what the stream plays. A
   * switch between main and backup then costs this recording nothing.
   */
  localFeed?: boolean;
}

/** One index line per closed segment (the index's `type: 'segment'` records). */
export interface SegmentEntry {
  type: 'segment';
  file: string;
  /** The stream's timestamps (the tags in the file carry the same), ms. */
  firstDts: number;
  lastDts: number;
  /** Up to the next segment's first frame, or the last frame's dts plus one frame interval. */
  durationMs: number;
  bytes: number;
  frames: number;
  /** Frames left out of this segment because the disk fell behind (see queueBytes). */
  dropped: number;
  closedAt: string;
}

/** The publisher left and one came back within the grace: the recording went on after a gap. */
export interface GapEntry {
  type: 'gap';
  afterDts: number;
  resumeDts: number;
  /** Wall-clock time between the last frame before and the first after, ms. */
  gapMs: number;
}

/** Segments and gaps a Recording keeps in memory for the API (a day of 4 s segments is 21,600). */
const MAX_LISTED = 1000;

interface OpenSegment {
  file: string;
  firstDts: number;
  lastDts: number;
  /** The newest frame of the track segments are cut on (video, else audio). */
  lastCutDts: number;
  bytes: number;
  frames: number;
  dropped: number;
  video: CodecConfig | undefined;
  audio: CodecConfig | undefined;
}

/**
 * The recording of one stream: a subscriber like a viewer (it joins the Stream and gets its
 * configs and frames), whose "socket" is a directory of FLV segments and an index.
 *
 * Each segment starts on a keyframe (any audio frame for an audio-only stream) with the FLV
 * header, onMetaData and the sequence headers, so each file plays on its own; a segment is
 * cut at the first keyframe `segmentMs` after its start, when the publisher leaves, and when a
 * codec config changes. Across a publisher's reconnect within the grace the Stream keeps one
 * timeline, so the recording goes on in the same index, with a `gap` line saying how long
 * nothing came.
 *
 * Memory is bounded: above `queueBytes` waiting for the disk, frames are dropped until a
 * keyframe finds the queue below it again (like a slow viewer), and counted.
 */
export class Recording extends Subscriber {
  readonly startedAt: number;
  readonly queue: DiskQueue;
  /** The newest closed segments (at most MAX_LISTED; the index on disk has them all). */
  readonly segments: SegmentEntry[] = [];
  readonly gaps: GapEntry[] = [];
  segmentCount = 0;
  /** Sum of every closed segment's duration, ms. */
  durationMs = 0;
  bytes = 0;
  /** Frames dropped because the disk was slower than the stream. */
  dropped = 0;
  /** A copy of a stream relayed from its owner (the Recorder's replicas), not this node's own publisher's. */
  relayReplica = false;
  /** localFeed: a new local publisher came; its first frame sets tsOffset. */
  private rebase = false;
  private tsOffset = 0;
  private video: CodecConfig | undefined;
  private audio: CodecConfig | undefined;
  private metadata: Record<string, unknown> | undefined;
  private seg: OpenSegment | undefined;
  private opened = 0;
  private skipping = false;
  /** Spacing of the last two frames of the track that cuts segments, ms (the last segment's tail). */
  private frameStep = 0;
  private prevCutDts: number | undefined;
  /** The publisher left: when its last frame came, and that frame's dts. */
  private away: { at: number; dts: number } | undefined;
  private switchedFrom: { at: number; dts: number } | undefined;
  private lastFrameAt = 0;
  private lastDts: number | undefined;
  private readonly now: () => number;
  /** Resolves once the last segment, the `end` line and the index are on disk. */
  readonly finished: Promise<void>;
  private finish!: () => void;

  constructor(
    readonly stream: Stream,
    readonly dir: string,
    private readonly options: RecordingOptions,
  ) {
    super(`record:${stream.path}:${dir}`, 'record', 'disk', { skipBytes: options.queueBytes, cutBytes: Number.MAX_SAFE_INTEGER });
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.queue = new DiskQueue(join(dir, INDEX_FILE), options.openFile, options.pool);
    this.finished = new Promise((resolve) => (this.finish = resolve));
    this.queue.appendIndex({ type: 'start', app: stream.app, key: stream.key, startedAt: new Date(this.startedAt).toISOString(), segmentMs: options.segmentMs });
    if (options.localFeed) {
      // A new local publisher (a reconnect) is a new source with its own timeline.
      stream.on('standby', this.onLocalPublisher);
      stream.on('publish', this.onLocalPublisher);
    } else {
      stream.on('unpublish', this.onUnpublish);
      stream.on('switch', this.onSwitch);
    }
  }

  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void {
    this.video = video;
    this.audio = audio;
    this.metadata = metadata;
    const s = this.seg;
    // A segment's sequence headers describe all of it: a new config starts a new one at the next keyframe.
    if (s && (!sameConfig(s.video, video) || !sameConfig(s.audio, audio))) this.closeSegment(s.lastDts, true);
  }

  /** The Stream's slow-viewer policy, with the disk queue as the socket (see the class comment). */
  override deliver(frame: MediaFrame): void {
    if (this.isClosed || frame.kind === 'data') return;
    // A local feed's new publisher starts its own clock: carried on after the last frame, as the
    // Stream does for what it plays, so the index's timeline never goes back.
    if (this.rebase) {
      this.rebase = false;
      this.tsOffset = (this.lastDts ?? frame.dts) + RESTART_STEP_MS - frame.dts;
    }
    if (this.tsOffset !== 0) frame = { ...frame, dts: frame.dts + this.tsOffset, pts: frame.pts + this.tsOffset };
    const start = this.isStartPoint(frame);
    const size = frame.data.length + 64;
    const pool = this.options.pool;
    const over = this.pendingBytes() + size > this.options.queueBytes || (pool !== undefined && pool.bytes + size > pool.limit);
    if (this.skipping) {
      if (!start || over) return void this.drop();
      this.skipping = false;
    } else if (over) {
      this.skipping = true;
      return void this.drop();
    }
    this.writeFrame(frame);
  }

  /** The Stream asks viewers to wait for a keyframe after a new publisher: segments always do. */
  override resync(): void {}

  pendingBytes(): number {
    return this.queue.queuedBytes;
  }

  protected writeFrame(frame: MediaFrame): void {
    // The disk refused (full, gone, no permission): this recording is over; the Recorder reports it.
    if (this.queue.error) return void this.close(`disk error: ${this.queue.error.message}`);
    const start = this.isStartPoint(frame);
    if (this.isCutTrack(frame)) {
      const prev = this.prevCutDts;
      if (prev !== undefined && frame.dts > prev) this.frameStep = frame.dts - prev;
      this.prevCutDts = frame.dts;
    }
    if (this.seg && start && frame.dts - this.seg.firstDts >= this.options.segmentMs) this.closeSegment(frame.dts, false);
    if (!this.seg) {
      if (!start) return; // before the first keyframe: nothing a player could start from
      this.openSegment(frame);
    }
    const tag = flvFrameTag(frame);
    if (!tag) return;
    const s = this.seg!;
    this.queue.write(tag);
    s.bytes += tag.length;
    s.frames++;
    s.lastDts = Math.max(s.lastDts, frame.dts);
    if (this.isCutTrack(frame)) s.lastCutDts = Math.max(s.lastCutDts, frame.dts);
    this.lastDts = s.lastDts;
    if (this.switchedFrom) {
      const gap: GapEntry = { type: 'gap', afterDts: this.switchedFrom.dts, resumeDts: frame.dts, gapMs: Math.max(0, this.now() - this.switchedFrom.at) };
      this.switchedFrom = undefined;
      this.gaps.push(gap);
      this.queue.appendIndex(gap);
    }
    this.lastFrameAt = this.now();
  }

  protected onClose(reason: string): void {
    this.stream.off('unpublish', this.onUnpublish);
    this.stream.off('switch', this.onSwitch);
    this.stream.off('standby', this.onLocalPublisher);
    this.stream.off('publish', this.onLocalPublisher);
    this.stream.unsubscribe(this);
    this.stream.unsubscribeBackup(this);
    if (this.seg) this.closeSegment(this.seg.lastDts, true);
    this.queue.appendIndex({ type: 'end', reason, at: new Date(this.now()).toISOString(), durationMs: Math.round(this.durationMs), dropped: this.dropped });
    void this.queue.finish().then(() => this.finish());
  }

  /**
   * Main/backup: the stream switched to its standby (Stream 'switch'). The timeline goes on and so
   * does the segment; a gap line says how long nothing came before the backup's first frame.
   */
  private readonly onSwitch = (): void => {
    if (this.lastDts !== undefined) this.switchedFrom = { at: this.lastFrameAt, dts: this.lastDts };
  };

  private readonly onLocalPublisher = (p: { protocol: string }): void => {
    if (p.protocol === 'relay' || this.lastDts === undefined) return;
    this.onUnpublish();
    this.rebase = true;
  };

  private readonly onUnpublish = (): void => {
    if (this.seg) this.closeSegment(this.seg.lastDts, true);
    if (this.lastDts !== undefined) this.away = { at: this.lastFrameAt, dts: this.lastDts };
    this.prevCutDts = undefined;
  };

  /** Where a segment may start: a video keyframe, or any audio frame when there is no video. */
  private isStartPoint(frame: MediaFrame): boolean {
    return frame.kind === 'video' ? frame.keyframe : frame.kind === 'audio' && !this.video;
  }

  private isCutTrack(frame: MediaFrame): boolean {
    return frame.kind === (this.video ? 'video' : 'audio');
  }

  private openSegment(first: MediaFrame): void {
    if (this.away) {
      const gap: GapEntry = { type: 'gap', afterDts: this.away.dts, resumeDts: first.dts, gapMs: Math.max(0, this.now() - this.away.at) };
      this.away = undefined;
      this.gaps.push(gap);
      this.queue.appendIndex(gap);
    }
    const file = segmentName(++this.opened);
    this.seg = { file, firstDts: first.dts, lastDts: first.dts, lastCutDts: first.dts, bytes: 0, frames: 0, dropped: 0, video: this.video, audio: this.audio };
    this.queue.openSegment(join(this.dir, file));
    const head = [flvFileHeader(this.video !== undefined, this.audio !== undefined)];
    const md = flvMetadataTag(segmentMetadata(this.metadata), this.video, this.audio);
    if (md) head.push(md);
    head.push(...flvConfigTags(this.video, this.audio, first.dts));
    for (const chunk of head) {
      this.queue.write(chunk);
      this.seg.bytes += chunk.length;
    }
  }

  /**
   * `endDts`: the next segment's first frame (a cut); with `tail` (nothing follows) the segment
   * ends one frame after its last video frame (audio for an audio-only stream).
   */
  private closeSegment(endDts: number, tail: boolean): void {
    const s = this.seg;
    if (!s) return;
    this.seg = undefined;
    if (tail) endDts = Math.max(s.lastDts, s.lastCutDts + this.frameStep);
    const entry: SegmentEntry = {
      type: 'segment',
      file: s.file,
      firstDts: s.firstDts,
      lastDts: s.lastDts,
      durationMs: Math.round((endDts - s.firstDts) * 1000) / 1000,
      bytes: s.bytes,
      frames: s.frames,
      dropped: s.dropped,
      closedAt: new Date(this.now()).toISOString(),
    };
    this.segments.push(entry);
    if (this.segments.length > MAX_LISTED) this.segments.shift();
    if (this.gaps.length > MAX_LISTED) this.gaps.shift();
    this.segmentCount++;
    this.durationMs += entry.durationMs;
    this.bytes += entry.bytes;
    this.queue.closeSegment();
    this.queue.appendIndex(entry);
  }

  /** Counted here and in tributary_recording_dropped_total, not as a slow viewer's skips. */
  private drop(): void {
    this.dropped++;
    if (this.seg) this.seg.dropped++;
  }
}

/** The publisher's onMetaData without what describes its whole output (ffmpeg -t writes a duration), not this file. */
function segmentMetadata(m: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!m) return undefined;
  const { duration: _d, filesize: _f, ...rest } = m;
  return rest;
}

function sameConfig(a: CodecConfig | undefined, b: CodecConfig | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.codec !== b.codec || a.data.length !== b.data.length) return false;
  return Buffer.from(a.data).equals(b.data);
}
