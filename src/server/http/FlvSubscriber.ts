import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { Subscriber, type BackpressureLimits } from '../Subscriber.js';
import { flvConfigTags, flvFileHeader, flvFrameTag, flvMetadataTag } from './flvOut.js';

/** Where an FLV viewer's bytes go: an HTTP response or a WebSocket. */
export interface FlvSink {
  write(chunk: Uint8Array): void;
  /** Bytes written but not yet on the network (the slow-viewer policy reads it). */
  pending(): number;
  /** Ends the connection; called once, from `onClose`. */
  end(reason: string): void;
}

/**
 * One HTTP-FLV or WebSocket-FLV viewer: the FLV header, onMetaData and the codec configs on
 * join, then a tag per frame, shared with every other FLV viewer of the stream (see flvOut).
 */
export class FlvSubscriber extends Subscriber {
  private headerSent = false;
  private lastTs = 0;
  /** Configs the viewer has: the stream passes both each time either changes. */
  private sentVideo: CodecConfig | undefined;
  private sentAudio: CodecConfig | undefined;
  /** When the queue first went above skipBytes in the current stall, ms. */
  private stalledSince: number | undefined;
  onClosed: ((reason: string) => void) | undefined;

  constructor(
    id: string,
    protocol: 'http-flv' | 'ws-flv',
    remoteAddress: string,
    limits: BackpressureLimits,
    private readonly sink: FlvSink,
    /** A viewer over skipBytes for this long has stopped reading: it is cut, not kept skipping. */
    private readonly stallCutMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    super(id, protocol, remoteAddress, limits);
  }

  override deliver(frame: MediaFrame): void {
    if (this.isClosed) return;
    if (this.sink.pending() > this.limits.skipBytes) {
      const t = this.now();
      this.stalledSince ??= t;
      if (t - this.stalledSince >= this.stallCutMs) return this.close(`viewer stalled for ${t - this.stalledSince} ms`);
    } else {
      this.stalledSince = undefined;
    }
    super.deliver(frame);
  }

  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void {
    if (this.isClosed) return;
    if (!this.headerSent) {
      this.headerSent = true;
      this.send(flvFileHeader(video !== undefined, audio !== undefined));
      const md = flvMetadataTag(metadata, video, audio);
      if (md) this.send(md);
    }
    // A config change mid-stream goes out stamped with the latest frame's time.
    const newVideo = video !== this.sentVideo ? video : undefined;
    const newAudio = audio !== this.sentAudio ? audio : undefined;
    this.sentVideo = video;
    this.sentAudio = audio;
    for (const tag of flvConfigTags(newVideo, newAudio, this.lastTs)) this.send(tag);
  }

  protected writeFrame(frame: MediaFrame): void {
    if (!this.headerSent) return;
    this.lastTs = frame.dts;
    const tag = flvFrameTag(frame);
    if (tag) this.send(tag);
  }

  pendingBytes(): number {
    return this.sink.pending();
  }

  protected onClose(reason: string): void {
    this.sink.end(reason);
    this.onClosed?.(reason);
  }

  private send(chunk: Uint8Array): void {
    this.bytesSent += chunk.length;
    this.sink.write(chunk);
  }
}
