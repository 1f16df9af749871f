/**
 * One browser's signalling WebSocket at the edge. It owns the limits on what that browser can
 * make the edge do: a token bucket on its messages (over it they are dropped unread; a burst's
 * worth of drops closes it), a count of garbage (a few close it), and a cap on what the edge
 * holds unsent to it (a peer that does not read is closed, not buffered for). Message size is
 * bounded by the WebSocket server's maxPayload before any of this sees a byte.
 */
import type { WebSocket } from 'ws';
import { TokenBucket } from '../p2p/TokenBucket.js';
import type { P2pSection } from './config.js';
import type { P2pCounters } from './counters.js';

/** Undecodable messages or bad signals a peer may send before it is closed. */
const MAX_GARBAGE = 16;

export class PeerLink {
  /** The edge's id for it once it joined; 0 before. */
  id = 0;
  private readonly bucket: TokenBucket;
  private drops = 0;
  private garbage = 0;
  private closed = false;

  constructor(
    readonly ws: WebSocket,
    private readonly s: P2pSection,
    private readonly counters: P2pCounters,
  ) {
    this.bucket = new TokenBucket(s.messagesPerSecond, s.messageBurst, Date.now());
  }

  /** False when the message must be dropped (over the rate); closes a flooding peer. */
  admit(now: number, bytes: number): boolean {
    this.counters.bytesIn += bytes;
    if (this.bucket.take(now)) return true;
    this.counters.rateDropped++;
    if (++this.drops > this.s.messageBurst) this.close(1008, 'flood');
    return false;
  }

  /** A message that was not one it may send; enough of them close it. */
  bad(): void {
    this.counters.garbage++;
    if (++this.garbage > MAX_GARBAGE) this.close(1008, 'garbage');
  }

  send(data: Uint8Array | string): void {
    if (this.closed) return;
    if (this.ws.bufferedAmount > this.s.maxBufferedBytes) return this.close(1008, 'too slow');
    this.counters.bytesOut += typeof data === 'string' ? data.length : data.length;
    this.ws.send(data);
  }

  /** Idempotent; counted by reason. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (code === 1008) this.counters.close(reason);
    this.ws.close(code, reason);
    // A peer that does not answer the close handshake is not waited for.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
