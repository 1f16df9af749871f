/**
 * What a peer uploads on request: neighbours' pulls, each neighbour within its own token bucket
 * (a flood past it is dropped, and a neighbour that keeps flooding is dropped), and nothing at
 * all while the shell says the upload queue is long (an answer would come too late). The queue
 * length is also what the peer reports to the tracker as its own load.
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

  constructor(
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
    if (this.backlogMs > SERVE_BACKLOG_MS) return;
    const missing: number[] = [];
    for (const seq of seqs) {
      const e = this.buf.get(seq);
      if (e?.payload) {
        this.stats.served++;
        this.io.send(from, { t: Msg.Slice, seq, captureMs: e.captureMs, key: e.key, pushed: false, payload: e.payload });
      } else missing.push(seq);
    }
    if (missing.length) this.io.send(from, { t: Msg.NotHave, seqs: missing });
  }
}
