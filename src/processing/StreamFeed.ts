import type { Writable } from 'node:stream';
import type { CodecConfig, MediaFrame } from '../media/frame.js';
import { configTag, flvHeader, frameTag, metadataFor, metadataTag } from '../media/flv/FlvMuxer.js';
import type { Stream } from '../server/Stream.js';
import { Subscriber } from '../server/Subscriber.js';

/** How many fed video frames are remembered for the delay and capture-time lookup (a few GOPs). */
const TIMES_KEPT = 512;

let nextId = 1;

export interface FedTimes {
  /** When the frame was written to the pipe (Date.now()). */
  fedAt: number;
  captureTime: number | undefined;
  /** The frame's pts, ms (the input's media time: when it is shown). */
  pts: number;
}

/** What a feed reports as frames go in, in order (a decoder's k-th picture is the k-th video frame). */
export interface FeedEvents {
  video?: (t: FedTimes) => void;
  /** Each audio frame's pts, ms (the first one fixes the decoder's audio timeline). */
  audio?: (pts: number) => void;
}

/**
 * A stream of the server fed to a process as FLV on a pipe (ffmpeg's stdin): a Subscriber like
 * any viewer, so the Stream's GOP cache starts it on a keyframe and the slow-viewer policy
 * bounds what a stuck process can make the server hold (it skips to the next keyframe past
 * `skipBytes`, and is cut past `cutBytes`: the job then restarts it).
 *
 * It remembers when each video frame went in and its capture time, by pts: the job's
 * outputs carry the same timestamps (ffmpeg -copyts), so each output frame finds its input's.
 */
export class StreamFeed extends Subscriber {
  private headerSent = false;
  private sentVideo: CodecConfig | undefined;
  private sentAudio: CodecConfig | undefined;
  private readonly times = new Map<number, FedTimes>();
  onClosed: ((reason: string) => void) | undefined;

  constructor(
    readonly stream: Stream,
    private readonly out: Writable,
    /** Given here, not set later: the GOP replay goes in during the constructor. */
    private readonly on: FeedEvents = {},
    limits = { skipBytes: 4 << 20, cutBytes: 32 << 20 },
  ) {
    super(`job-feed-${nextId++}`, 'job', 'process', limits);
    stream.subscribe(this);
  }

  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void {
    if (this.isClosed) return;
    if (!this.headerSent) {
      this.headerSent = true;
      this.write(flvHeader(video !== undefined, audio !== undefined));
      try {
        this.write(metadataTag(metadata ?? metadataFor(video, audio), 0));
      } catch {
        /* metadata is optional for ffmpeg */
      }
    }
    for (const c of [video !== this.sentVideo ? video : undefined, audio !== this.sentAudio ? audio : undefined]) {
      if (!c || c.codec === 'mp3') continue;
      try {
        this.write(configTag(c, 0));
      } catch {
        /* a codec FLV cannot carry: ffmpeg gets the other track */
      }
    }
    this.sentVideo = video ?? this.sentVideo;
    this.sentAudio = audio ?? this.sentAudio;
  }

  protected writeFrame(frame: MediaFrame): void {
    if (!this.headerSent || frame.kind === 'data') return;
    let tag: Uint8Array;
    try {
      tag = frameTag(frame, frame.dts);
    } catch {
      return;
    }
    if (frame.kind === 'video') {
      const t = { fedAt: Date.now(), captureTime: frame.captureTime, pts: frame.pts };
      this.times.set(Math.round(frame.pts), t);
      this.on.video?.(t);
      if (this.times.size > TIMES_KEPT) this.times.delete(this.times.keys().next().value!);
    }
    else this.on.audio?.(frame.pts);
    this.bytesSent += tag.length;
    this.write(tag);
  }

  /** When the input frame with this pts went in (undefined when it is too old or never came). */
  fedTimes(pts: number): FedTimes | undefined {
    return this.times.get(Math.round(pts));
  }

  pendingBytes(): number {
    return this.out.writableLength;
  }

  protected onClose(reason: string): void {
    this.stream.unsubscribe(this);
    this.onClosed?.(reason);
  }

  private write(chunk: Uint8Array): void {
    if (this.out.destroyed || !this.out.writable) return;
    this.out.write(chunk);
  }
}
