import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { Subscriber, type BackpressureLimits } from '../Subscriber.js';
import { flvConfigTags, flvFileHeader, flvFrameTag, flvMetadataTag } from './flvOut.js';

/** Where an FLV viewer's bytes go: an HTTP response or a WebSocket. */
export interface FlvSink {
  /** Hands one batch to the socket; the sink calls the subscriber's `drained()` once it has gone. */
  write(chunk: Uint8Array): void;
  /** Bytes the socket holds that the kernel has not taken yet. */
  buffered(): number;
  /** Ends the connection, once: politely when `clean` (stream ended), else destroyed (cut). */
  end(reason: string, clean: boolean): void;
}

/**
 * A batch goes to the socket only while it holds less than this. Above it the kernel's send
 * buffer is full (the viewer is not reading fast enough) and tags wait here instead, where a
 * keyframe can replace them, rather than in the socket, where nothing can.
 */
export const WRITE_CAP_BYTES = 64 << 10;

/**
 * One HTTP-FLV or WebSocket-FLV viewer: the FLV header, onMetaData and the codec configs on
 * join, then a tag per frame, shared with every other FLV viewer of the stream (see flvOut).
 *
 * Tags of one turn of the event loop go out as one write (a GOP replay on join, a burst from
 * the publisher's socket), and only while the socket takes them (WRITE_CAP_BYTES). A viewer
 * whose socket has not drained for `stallCutMs` is cut; until then, each keyframe replaces
 * the media still queued here, so a slow viewer skips to live instead of falling behind.
 */
export class FlvSubscriber extends Subscriber {
  private headerSent = false;
  private lastTs = 0;
  /** Configs the viewer has: the stream passes both each time either changes. */
  private sentVideo: CodecConfig | undefined;
  private sentAudio: CodecConfig | undefined;
  private sentMetadata: Record<string, unknown> | undefined;
  /** Tags not yet handed to the socket, and which of them a keyframe must not replace. */
  private queue: Uint8Array[] = [];
  private keep: boolean[] = [];
  private queuedBytes = 0;
  private flushQueued = false;
  /** When a flush first found the socket full, ms; cleared when a batch goes out. */
  private blockedSince: number | undefined;
  onClosed: ((reason: string) => void) | undefined;

  constructor(
    id: string,
    protocol: 'http-flv' | 'ws-flv',
    remoteAddress: string,
    limits: BackpressureLimits,
    private readonly sink: FlvSink,
    /** A viewer whose socket stays full this long has stopped reading: it is cut. */
    private readonly stallCutMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    super(id, protocol, remoteAddress, limits);
  }

  override deliver(frame: MediaFrame): void {
    if (this.isClosed) return;
    if (this.blockedSince !== undefined) {
      const stalled = this.now() - this.blockedSince;
      if (stalled >= this.stallCutMs) return this.close(`viewer stalled: its socket did not drain for ${stalled} ms`);
      if (frame.kind === 'video' && frame.keyframe) this.dropQueuedMedia();
    }
    super.deliver(frame);
  }

  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void {
    if (this.isClosed) return;
    if (!this.headerSent) {
      this.headerSent = true;
      this.send(flvFileHeader(video !== undefined, audio !== undefined), true);
      this.sentMetadata = metadata;
      const md = flvMetadataTag(metadata, video, audio);
      if (md) this.send(md, true);
    } else if (metadata && metadata !== this.sentMetadata) {
      // A new publisher's onMetaData (players take a second one mid-stream).
      this.sentMetadata = metadata;
      const md = flvMetadataTag(metadata, video, audio);
      if (md) this.send(md, true);
    }
    // A config change mid-stream goes out stamped with the latest frame's time.
    const newVideo = video !== this.sentVideo ? video : undefined;
    const newAudio = audio !== this.sentAudio ? audio : undefined;
    if (video) this.sentVideo = video;
    if (audio) this.sentAudio = audio;
    for (const tag of flvConfigTags(newVideo, newAudio, this.lastTs)) this.send(tag, true);
  }

  /** The socket took what it held: send what waited. */
  drained(): void {
    if (!this.isClosed) this.flush();
  }

  protected writeFrame(frame: MediaFrame): void {
    if (!this.headerSent) return;
    this.lastTs = frame.dts;
    const tag = flvFrameTag(frame);
    if (tag) this.send(tag, false);
  }

  pendingBytes(): number {
    return this.queuedBytes + this.sink.buffered();
  }

  protected onClose(reason: string, clean: boolean): void {
    // A clean end sends what the socket can still take now; a cut throws it all away.
    if (clean && this.blockedSince === undefined && this.queuedBytes > 0 && this.sink.buffered() < WRITE_CAP_BYTES) this.sink.write(this.takeQueue());
    this.queue = [];
    this.keep = [];
    this.queuedBytes = 0;
    this.sink.end(reason, clean);
    this.onClosed?.(reason);
  }

  private send(chunk: Uint8Array, keep: boolean): void {
    this.bytesSent += chunk.length;
    this.queue.push(chunk);
    this.keep.push(keep);
    this.queuedBytes += chunk.length;
    if (this.flushQueued) return;
    this.flushQueued = true;
    // After the current fan-out: everything delivered in this turn leaves in one write.
    queueMicrotask(() => {
      this.flushQueued = false;
      if (!this.isClosed) this.flush();
    });
  }

  private flush(): void {
    if (this.queuedBytes === 0) return;
    if (this.sink.buffered() >= WRITE_CAP_BYTES) {
      this.blockedSince ??= this.now();
      return; // the sink calls drained() when the socket empties
    }
    this.blockedSince = undefined;
    this.sink.write(this.takeQueue());
  }

  private takeQueue(): Uint8Array {
    const chunk = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.queuedBytes);
    this.queue = [];
    this.keep = [];
    this.queuedBytes = 0;
    return chunk;
  }

  /** A keyframe is coming to a blocked viewer: the media queued before it is stale. */
  private dropQueuedMedia(): void {
    let bytes = 0;
    const queue: Uint8Array[] = [];
    const keep: boolean[] = [];
    for (let i = 0; i < this.queue.length; i++) {
      if (!this.keep[i]) {
        this.skippedFrames++;
        this.bytesSent -= this.queue[i]!.length;
        continue;
      }
      queue.push(this.queue[i]!);
      keep.push(true);
      bytes += this.queue[i]!.length;
    }
    this.queue = queue;
    this.keep = keep;
    this.queuedBytes = bytes;
  }
}
