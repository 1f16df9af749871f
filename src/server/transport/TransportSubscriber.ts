import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { encodeConfig, encodeFrame, encodeMetadata, encodeText } from '../../media/tributary/index.js';
import type { TransportSession } from '../../net/index.js';
import { Subscriber, type BackpressureLimits } from '../Subscriber.js';

/**
 * One viewer over the transport (`tributary play`, a relay): configs and metadata on the
 * reliable control stream, frames on audio and video streams with a delivery deadline. The
 * transport's own drop order (non-reference video, then video to the next keyframe, then audio)
 * and its bounded send queue keep a slow viewer's memory bounded, so pendingBytes is 0 here.
 */
export class TransportSubscriber extends Subscriber {
  private sent: { video?: CodecConfig; audio?: CodecConfig; metadata?: Record<string, unknown> } = {};

  constructor(
    id: string,
    remoteAddress: string,
    limits: BackpressureLimits,
    private readonly session: TransportSession,
    private readonly latencyMs: number,
  ) {
    super(id, 'tributary', remoteAddress, limits);
  }

  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void {
    if (this.isClosed) return;
    if (metadata && metadata !== this.sent.metadata) {
      this.sent.metadata = metadata;
      this.control(encodeMetadata(metadata));
    }
    for (const c of [video, audio]) {
      if (!c || c === this.sent[c.kind]) continue;
      this.sent[c.kind] = c;
      this.control(encodeConfig(c));
    }
  }

  protected writeFrame(frame: MediaFrame): void {
    if (frame.kind === 'data') return;
    const data = encodeFrame(frame);
    this.session.sendFrame({ kind: frame.kind, data, deadlineMs: this.latencyMs, keyframe: frame.keyframe, reference: frame.reference, timestamp: frame.dts });
    this.bytesSent += data.length;
  }

  pendingBytes(): number {
    return 0;
  }

  protected onClose(reason: string): void {
    if (this.session.isClosed) return;
    this.control(encodeText('end', reason));
    this.session.close(reason);
  }

  private control(data: Uint8Array): void {
    this.session.sendFrame({ kind: 'control', data });
    this.bytesSent += data.length;
  }
}
