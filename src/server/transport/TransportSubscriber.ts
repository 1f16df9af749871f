import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { encodeConfig, encodeFrame, encodeMetadata, encodeText } from '../../media/tributary/index.js';
import type { TransportSession } from '../../net/index.js';
import { Subscriber, type BackpressureLimits } from '../Subscriber.js';

/**
 * Where a subscriber's messages go: a whole session (a player), or one channel of a session that
 * carries many relayed streams (RelayMux). `stats().bytesSent` is the session's, whatever the sink.
 */
export type TransportSink = Pick<TransportSession, 'sendFrame' | 'close' | 'isClosed'> & { stats(): { bytesSent: number } };

/** How often the session's byte counter is read (stats() is too dear to call per frame per viewer), ms. */
const READ_EVERY_MS = 20;

/**
 * One viewer over the transport (`tributary play`, a relay): configs and metadata on the
 * reliable control stream, frames on audio and video streams with a delivery deadline.
 *
 * Bounded like an FLV viewer (viewer.skipBytes, cutBytes, stallCutMs): the transport's own
 * queue only stops at 32 MiB, and a viewer that went silent (its process stopped, its network
 * died) acknowledges nothing, so the queue never drains. What it still holds is estimated from
 * outside the core: bytes handed to the session, less the bytes the session has put on the
 * wire since (read every READ_EVERY_MS), never below 0. Wire bytes include headers, repairs
 * and FEC, so a viewer that keeps up reads as 0; messages the transport dropped by deadline
 * still count as queued, so the estimate errs towards skipping early, never towards holding more.
 */
export class TransportSubscriber extends Subscriber {
  private sent: { video?: CodecConfig; audio?: CodecConfig; metadata?: Record<string, unknown> } = {};
  /** The estimate of bytes still queued in the session, as of the last reading plus what was offered since. */
  private queued = 0;
  private wireSent: number;
  private readAt = -Infinity;
  /** When the estimate first went above skipBytes in the current stall, ms. */
  private stalledSince: number | undefined;
  private readonly stallCutMs: number;

  constructor(
    id: string,
    remoteAddress: string,
    limits: BackpressureLimits & { stallCutMs?: number },
    private readonly session: TransportSink,
    /** The delivery deadline each frame gets: the player's hello's, else the server's default. */
    readonly latencyMs: number,
    private readonly now: () => number = Date.now,
  ) {
    super(id, 'tributary', remoteAddress, limits);
    this.stallCutMs = limits.stallCutMs ?? 10_000;
    this.wireSent = session.isClosed ? 0 : session.stats().bytesSent;
  }

  override deliver(frame: MediaFrame): void {
    if (this.isClosed) return;
    const now = this.now();
    this.read(now);
    // As FlvSubscriber: a viewer that stays above skipBytes has stopped taking media; cut it.
    if (this.queued > this.limits.skipBytes) {
      this.stalledSince ??= now;
      if (now - this.stalledSince >= this.stallCutMs) return this.close(`viewer stalled: ${this.queued} bytes queued for ${now - this.stalledSince} ms`);
    } else this.stalledSince = undefined;
    super.deliver(frame);
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
    this.queued += data.length;
  }

  /** The estimate (see the class comment); `deliver` refreshes it. */
  pendingBytes(): number {
    return this.queued;
  }

  private read(now: number): void {
    if (now - this.readAt < READ_EVERY_MS || this.session.isClosed) return;
    this.readAt = now;
    const sent = this.session.stats().bytesSent;
    this.queued = Math.max(0, this.queued - (sent - this.wireSent));
    this.wireSent = sent;
  }

  protected onClose(reason: string): void {
    if (this.session.isClosed) return;
    this.control(encodeText('end', reason));
    this.session.close(reason);
  }

  private control(data: Uint8Array): void {
    this.session.sendFrame({ kind: 'control', data });
    this.bytesSent += data.length;
    this.queued += data.length;
  }
}
