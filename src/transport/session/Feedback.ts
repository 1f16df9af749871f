/**
 * FEEDBACK, both ways. Receiver: every 100 ms while media arrives, the loss ratio over all
 * packets and the rate of media bytes received. Sender: the report feeds the repair planner's
 * loss estimate and, on one path, that path's controller (bonded paths get their own loss from
 * their acks instead).
 */
import type { Frame } from '../../wire/frame.js';
import type { FeedbackFrame } from '../../wire/feedback.js';
import type { SessionState } from './SessionState.js';

const FEEDBACK_INTERVAL = 100;

export class Feedback {
  private lastAt: number;
  private bytes = 0;
  private received = 0;
  private highest = -1;
  private dataSeen = false;

  constructor(private readonly s: SessionState, now: number) {
    this.lastAt = now;
  }

  /** Every authenticated packet counts toward the loss ratio; those with media toward the rate. */
  onPacket(pn: number, withMedia: boolean, len: number): void {
    // Ack-only packets and probes take packet numbers too, and leaving them out made a clean
    // link look 2-5% lossy (and FEC follow it).
    this.received++;
    if (this.highest < 0) this.highest = pn - 1;
    if (withMedia) {
      this.bytes += len;
      this.dataSeen = true;
    }
  }

  due(now: number): boolean {
    return this.dataSeen && this.lastAt + FEEDBACK_INTERVAL <= now;
  }

  wakeAt(): number {
    return this.dataSeen ? this.lastAt + FEEDBACK_INTERVAL : Infinity;
  }

  frame(now: number): Frame {
    const highest = this.s.acks.highest;
    const interval = Math.max(1, now - this.lastAt);
    const expected = highest - this.highest;
    const loss = expected > 0 ? Math.max(0, 1 - this.received / expected) : 0;
    const f: Frame = { kind: 'feedback', recvRateKbps: Math.round((this.bytes * 8) / interval), loss: Math.round(Math.min(1, loss) * 65535), intervalMs: Math.min(0xffff, Math.round(interval)) };
    this.lastAt = now;
    this.bytes = 0;
    this.received = 0;
    this.highest = highest;
    this.dataSeen = false;
    return f;
  }

  /** The peer's report. */
  onReport(now: number, f: FeedbackFrame): void {
    const s = this.s;
    const loss = f.loss / 65535;
    if (s.bond === 'single') {
      s.repair.onReport(loss);
      s.primaryPath().cc.onFeedback(now, loss, f.recvRateKbps * 1000);
      return;
    }
    // The receiver's loss mixes all paths; each path's controller gets its own, from acks.
    // A pooled bond sizes FEC from those too, over the paths that answer: the receiver counts
    // every packet a dead link swallowed before it was taken down (a third of them, one link
    // of three), and FEC sized for 30% loss took half of what the two links left carried.
    let lost = 0, outcomes = 0;
    for (const p of s.paths) {
      const l = p.takeIntervalOutcomes();
      if (!p.usable || l.acked + l.lost === 0) continue;
      p.cc.onFeedback(now, l.lost / (l.acked + l.lost), NaN);
      if (p.overdueMs(now) > 0) continue;
      lost += l.lost;
      outcomes += l.acked + l.lost;
    }
    if (!s.pooled.active) s.repair.onReport(loss);
    else if (outcomes > 0) s.repair.onReport(lost / outcomes);
  }
}
