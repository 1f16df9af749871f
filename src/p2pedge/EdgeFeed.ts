/**
 * The P2P edge as a viewer of its Stream: each frame becomes one slice, its FLV tag (the same
 * shared tag FLV viewers get, PreviousTagSize included), so a browser rebuilds an FLV byte
 * stream from the init bytes and the slices in order and hands it to mpegts.js unchanged.
 * Backpressure is per peer (PeerLink), so this viewer never queues and never skips.
 */
import type { CodecConfig, MediaFrame } from '../media/frame.js';
import { flvConfigTags, flvFileHeader, flvFrameTag, flvMetadataTag } from '../server/http/flvOut.js';
import { Subscriber } from '../server/Subscriber.js';

export interface FeedSink {
  init(bytes: Uint8Array): void;
  frame(tag: Uint8Array, key: boolean): void;
  ended(reason: string): void;
}

let nextId = 1;

export class EdgeFeed extends Subscriber {
  constructor(private readonly sink: FeedSink) {
    super(`p2p-${nextId++}`, 'p2p', 'p2p edge');
  }

  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void {
    const parts = [flvFileHeader(video !== undefined, audio !== undefined)];
    const md = flvMetadataTag(metadata, video, audio);
    if (md) parts.push(md);
    parts.push(...flvConfigTags(video, audio, 0));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    this.sink.init(out);
  }

  protected writeFrame(frame: MediaFrame): void {
    const tag = flvFrameTag(frame);
    if (!tag) return;
    this.bytesSent += tag.length;
    this.sink.frame(tag, frame.kind === 'video' && frame.keyframe);
  }

  pendingBytes(): number {
    return 0;
  }

  protected onClose(reason: string): void {
    this.sink.ended(reason);
  }
}
