/**
 * LOST, both ways (src/wire/lost.ts).
 * Receiver: a reference video frame forgotten incomplete (RecvStream.expire) is reported in the
 * next packet; a report whose packet is declared lost goes again while it is still of use.
 * Sender: a report ends the frames predicted from that frame. Its queued dependents go and the
 * stream waits for a keyframe, which the application is asked for ('keyframe-wanted'). One link
 * cannot do this on its own: when a resend comes too late the sender still does not know if FEC
 * rebuilt the fragment, so it went on sending the rest of the GOP. On cellular traces that cost
 * about 60 frames a time (docs/benchmarks.md).
 * A report is checked against what was sent. One naming an unknown or non-video stream, or a
 * message never sent, is dropped and counted. Applied, it only affects the reporter's own
 * session, and each costs at most one pass over that session's queue.
 */
import type { LostFrame } from '../../wire/lost.js';
import type { SessionState } from './SessionState.js';

/** Reports waiting for a packet, at most (older ones give way: they are the least useful). */
const MAX_PENDING = 32;
/** A report lost on the wire is sent again within this long of the loss it reports, ms. */
const REPORT_LIFETIME_MS = 1500;
/** Reports one packet carries, at most. */
const PER_PACKET = 8;

interface Pending {
  frame: LostFrame;
  at: number;
}

export class LossReports {
  private pending: Pending[] = [];
  private readonly sentAt = new Map<LostFrame, number>();

  constructor(private readonly s: SessionState) {}

  /** Receiver: message `messageId` of stream `streamId` was forgotten incomplete at `now`. */
  add(now: number, streamId: number, messageId: number): void {
    if (this.pending.length >= MAX_PENDING) this.pending.shift();
    this.pending.push({ frame: { kind: 'lost', streamId, messageId }, at: now });
  }

  get due(): boolean {
    return this.pending.length > 0;
  }

  /** Receiver: the reports for the next packet (remembered so a lost packet's can go again). */
  take(): LostFrame[] {
    const out = this.pending.splice(0, PER_PACKET);
    for (const p of out) this.sentAt.set(p.frame, p.at);
    this.s.counters.lossReportsSent += out.length;
    return out.map((p) => p.frame);
  }

  /** Receiver: the packet carrying these was acked (nothing more to do) or declared lost (send again if still of use). */
  onOutcome(now: number, frames: readonly LostFrame[], lost: boolean): void {
    for (const f of frames) {
      const at = this.sentAt.get(f);
      this.sentAt.delete(f);
      if (lost && at !== undefined && now - at < REPORT_LIFETIME_MS && this.pending.length < MAX_PENDING) this.pending.push({ frame: f, at });
    }
  }

  /** Sender: the receiver reports a frame lost for good. */
  onReport(f: LostFrame): void {
    const s = this.s;
    const st = s.outStreams.get(f.streamId);
    if (!st || st.options.class !== 'video' || st.options.reliability !== 'deadline') return s.drop('lost-bad-stream');
    if (f.messageId >= st.nextMessageId) return s.drop('lost-unsent');
    s.counters.lossReportsApplied++;
    if (st.waitingKeyframe) return;
    s.queue.dropDependents(st, f.messageId, s.dropFn);
  }
}
