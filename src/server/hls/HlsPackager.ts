import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { Fmp4Muxer } from '../../media/mp4/Fmp4Muxer.js';
import { trackFromConfig, type Mp4Track } from '../../media/mp4/track.js';

/** Defaults are stated on each field. */
export interface PackagerOptions {
  /** Partial segment target, ms. Default 200. */
  partTargetMs: number;
  /** A segment ends at the first keyframe at least this long after its start, ms. Default 1000. */
  segmentMinMs: number;
  /** A segment with no keyframe is cut anyway at this length (not independent then), ms. Default 6000. */
  segmentMaxMs: number;
  /** Smallest EXT-X-TARGETDURATION advertised, s. Default 2. */
  targetDurationS: number;
  /** Complete segments kept for the playlist and for download. Default 6. */
  windowSegments: number;
  /** Upper bound of the bytes the window holds; the oldest segments go first. Default 64 MiB. */
  maxWindowBytes: number;
  /** Media sequence number of the first segment (continues across restarts). Default 0. */
  firstMsn: number;
}

export const DEFAULT_PACKAGER_OPTIONS: PackagerOptions = {
  partTargetMs: 200, segmentMinMs: 1000, segmentMaxMs: 6000, targetDurationS: 2,
  windowSegments: 6, maxWindowBytes: 64 << 20, firstMsn: 0,
};

/** Frames in one part before it is cut whatever the timestamps say (timestamps standing still). */
const MAX_PART_FRAMES = 300;
/** Parts in one segment before it is cut whatever the timestamps say. */
const MAX_PARTS_PER_SEGMENT = 100;
/** Timing slack so a 1 s GOP counts as 1 s whatever the millisecond rounding of its timestamps. */
const SLACK_MS = 0.5;
/**
 * Parts must not exceed PART-TARGET (the spec's rule); this slack only absorbs floating-point
 * error, so 30 fps gives 6-frame parts of 200 ms and 29.97 fps 5-frame parts.
 */
const PART_SLACK_MS = 0.01;

export interface HlsPart {
  /** Index inside its segment, from 0. */
  index: number;
  durationMs: number;
  /** Starts with a keyframe, so a player can start decoding here. */
  independent: boolean;
  /** One fMP4 fragment: moof + mdat. */
  data: Uint8Array;
}

export interface HlsSegment {
  msn: number;
  startDts: number;
  /** Wall-clock ms of the first frame (EXT-X-PROGRAM-DATE-TIME). */
  programDateTime: number;
  parts: HlsPart[];
  /** Set when the segment is complete. */
  durationMs: number;
  complete: boolean;
  bytes: number;
}

/**
 * Cuts a stream's frames into LL-HLS parts and segments, in memory, with no I/O and no clock:
 * the caller passes `now` (used only for the program date time). Parts are cut on frame
 * boundaries of the timing track (video, or audio when there is no video) and at every
 * keyframe; segments at the first keyframe after `segmentMinMs`, so a 2 s GOP gives 2 s
 * segments. Each part is one fMP4 fragment carrying both tracks; a segment is its parts
 * concatenated. `onChange` runs after every new part (and segment), for blocked requests.
 */
export class HlsPackager {
  readonly opts: PackagerOptions;
  readonly tracks: readonly Mp4Track[];
  readonly init: Uint8Array;
  /** Complete segments, oldest first, at most `windowSegments`. */
  readonly segments: HlsSegment[] = [];
  /** The segment being filled; undefined until the first keyframe. */
  current: HlsSegment | undefined;
  onChange: (() => void) | undefined;
  private readonly muxer: Fmp4Muxer;
  private readonly timing: 'video' | 'audio';
  private partStart = 0;
  private partIndependent = false;
  private partFrames = 0;
  private lastTimingDts: number | undefined;
  private lastInterval = 0;
  /** Wall clock minus dts, fixed at the first frame. */
  private wallOffset: number | undefined;
  private windowBytes = 0;
  private otherFrames = 0;
  /** Frames refused by the bounds above. */
  droppedFrames = 0;
  private maxSegmentMs = 0;

  constructor(video: CodecConfig | undefined, audio: CodecConfig | undefined, options: Partial<PackagerOptions> = {}) {
    this.opts = { ...DEFAULT_PACKAGER_OPTIONS, ...options };
    const tracks: Mp4Track[] = [];
    const v = video && trackFromConfig(1, video);
    if (v) tracks.push(v);
    const a = audio && trackFromConfig(tracks.length + 1, audio);
    if (a) tracks.push(a);
    if (tracks.length === 0) throw new Error('no track this packager can carry (h264/hevc video or aac audio)');
    this.tracks = tracks;
    this.timing = v ? 'video' : 'audio';
    this.muxer = new Fmp4Muxer(tracks);
    this.init = this.muxer.initSegment();
  }

  /** MSN of the first segment in the window (EXT-X-MEDIA-SEQUENCE). */
  get mediaSequence(): number {
    return this.segments[0]?.msn ?? this.current?.msn ?? this.opts.firstMsn;
  }

  /** The MSN the next segment will get: where a restarted packager continues. */
  get nextMsn(): number {
    return (this.current?.msn ?? this.segments.at(-1)?.msn ?? this.opts.firstMsn - 1) + 1;
  }

  /** EXT-X-TARGETDURATION: no complete segment's duration, rounded to the nearest second, exceeds it. */
  get targetDurationS(): number {
    return Math.max(this.opts.targetDurationS, Math.round(this.maxSegmentMs / 1000));
  }

  /**
   * Sets the program-date-time anchor so that the frame with `dts` maps to `now`. Call before
   * pushing a cached GOP, with the newest cached frame, so replayed frames get their real age.
   */
  anchor(dts: number, now: number): void {
    this.wallOffset = now - dts;
  }

  push(frame: MediaFrame, now: number): void {
    if (frame.kind !== 'video' && frame.kind !== 'audio') return;
    if (!this.tracks.some((t) => t.kind === frame.kind)) return;
    const timingFrame = frame.kind === this.timing;
    if (!this.current) {
      // Start on a keyframe of the timing track; anything before it cannot be decoded.
      if (!timingFrame || !frame.keyframe) return;
      this.wallOffset ??= now - frame.dts;
      this.current = this.newSegment(this.opts.firstMsn, frame.dts);
      this.startPart(frame);
      this.muxer.push(frame);
      return;
    }
    if (!timingFrame) {
      // Audio while video has stalled would queue without end: past a bound it is dropped.
      if (this.otherFrames >= MAX_PART_FRAMES) return void this.droppedFrames++;
      this.otherFrames++;
      this.muxer.push(frame);
      return;
    }
    const seg = this.current;
    const sinceSegment = frame.dts - seg.startDts;
    const cutSegment = (frame.keyframe && sinceSegment >= this.opts.segmentMinMs - SLACK_MS) || sinceSegment >= this.opts.segmentMaxMs
      || seg.parts.length >= MAX_PARTS_PER_SEGMENT || seg.bytes > this.opts.maxWindowBytes / 4;
    const partEnd = frame.dts + this.lastInterval - this.partStart;
    const cutPart = cutSegment || frame.keyframe || partEnd > this.opts.partTargetMs + PART_SLACK_MS || this.partFrames >= MAX_PART_FRAMES;
    if (cutPart) {
      // The part ends where this frame starts; the frame opens the next part.
      this.closePart(frame.dts);
      if (cutSegment) this.closeSegment(frame.dts);
      this.muxer.push(frame);
      this.startPart(frame);
      this.onChange?.();
    } else {
      this.muxer.push(frame);
      this.noteTiming(frame.dts);
      this.partFrames++;
    }
  }

  /** The segment with this MSN, complete or in progress, if still held. */
  segment(msn: number): HlsSegment | undefined {
    if (this.current?.msn === msn) return this.current;
    const first = this.segments[0];
    return first ? this.segments[msn - first.msn] : undefined;
  }

  private newSegment(msn: number, dts: number): HlsSegment {
    return { msn, startDts: dts, programDateTime: dts + (this.wallOffset ?? 0), parts: [], durationMs: 0, complete: false, bytes: 0 };
  }

  private startPart(frame: MediaFrame): void {
    this.partStart = frame.dts;
    this.partIndependent = frame.keyframe;
    this.partFrames = 1;
    this.otherFrames = 0;
    this.noteTiming(frame.dts);
  }

  private noteTiming(dts: number): void {
    if (this.lastTimingDts !== undefined && dts > this.lastTimingDts) this.lastInterval = dts - this.lastTimingDts;
    this.lastTimingDts = dts;
  }

  private closePart(endDts: number): void {
    const seg = this.current!;
    const data = this.muxer.flush(endDts);
    if (data.length === 0) return;
    seg.parts.push({ index: seg.parts.length, durationMs: Math.max(0, endDts - this.partStart), independent: this.partIndependent, data });
    seg.bytes += data.length;
  }

  private closeSegment(endDts: number): void {
    const seg = this.current!;
    seg.durationMs = endDts - seg.startDts;
    seg.complete = true;
    this.maxSegmentMs = Math.max(this.maxSegmentMs, seg.durationMs);
    this.segments.push(seg);
    this.windowBytes += seg.bytes;
    while (this.segments.length > 1 && (this.segments.length > this.opts.windowSegments || this.windowBytes > this.opts.maxWindowBytes)) {
      this.windowBytes -= this.segments.shift()!.bytes;
    }
    this.current = this.newSegment(seg.msn + 1, endDts);
  }
}
