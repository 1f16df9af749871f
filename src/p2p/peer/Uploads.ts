/**
 * What a peer uploads on request: neighbours' pulls, each neighbour within its own token bucket
 * (a flood past it is dropped, and a neighbour that keeps flooding is dropped), and nothing at
 * all while the upload queue is long (an answer would come too late). The queue is the shell's
 * last measure plus what this peer queued since (a shell measures between polls, and requests
 * come in between), and a slice is served only if it would leave within SERVE_BACKLOG_MS: a
 * peer with a thin upload that takes on a 15 KB keyframe holds its queue for seconds, and its
 * own requests wait behind it (most of the misses of the 0-0.2x peers, docs/benchmarks.md).
 * The queue length is also what the peer reports to the tracker as its own load.
 */
import { Msg } from '../messages.js';
import type { SliceBuffer } from '../SliceBuffer.js';
import type { Membership } from './Membership.js';
import type { DropFn, Outbox } from './Outbox.js';
import { Bad, type PeerStats } from './PeerStats.js';

/** Past this much upload backlog, ms, requests go unanswered. */
const SERVE_BACKLOG_MS = 300;

export class Uploads {
  /** The shell's measure of the upload queue (e.g. a data channel's bufferedAmount), ms. */
  backlogMs = 0;
  /** Sent to neighbours since that measure, ms at the upload's rate. */
  private queuedMs = 0;

  constructor(
    private readonly uploadKbps: number,
    private readonly buf: SliceBuffer,
    private readonly members: Membership,
    private readonly stats: PeerStats,
    private readonly io: Outbox,
    private readonly drop: DropFn,
  ) {}

  onRequest(now: number, from: number, seqs: number[]): void {
    const nb = this.members.get(from);
    if (!nb || !nb.up) {
      this.stats.unsolicited++;
      return;
    }
    if (!nb.requests.take(now, seqs.length)) {
      this.stats.floodDropped += seqs.length;
      if (++nb.floods > 5) this.drop(from, Bad.Flood);
      return;
    }
    // With a long upload queue an answer would come too late: say nothing (the asker times out and
    // tries someone else; a NotHave for a slice our map showed would read as a lie).
    if (this.backlogMs + this.queuedMs > SERVE_BACKLOG_MS) return;
    const missing: number[] = [];
    for (const seq of seqs) {
      const e = this.buf.get(seq);
      if (e?.payload) {
        // Too big to leave in time: the rest of the batch is dropped (silence, as above).
        if (this.backlogMs + this.queuedMs + this.sendMs(e.payload.length) > SERVE_BACKLOG_MS) break;
        this.stats.served++;
        this.io.send(from, { t: Msg.Slice, seq, captureMs: e.captureMs, key: e.key, pushed: false, payload: e.payload });
      } else missing.push(seq);
    }
    if (missing.length) this.io.send(from, { t: Msg.NotHave, seqs: missing });
  }

  /** The shell measured the queue again (what was queued before is in it). */
  measured(ms: number): void {
    this.backlogMs = ms;
    this.queuedMs = 0;
  }

  /** `bytes` of media went on the upload (a push or an answer). */
  queued(bytes: number): void {
    this.queuedMs += this.sendMs(bytes);
  }

  private sendMs(bytes: number): number {
    return (bytes * 8) / Math.max(1, this.uploadKbps);
  }
}
