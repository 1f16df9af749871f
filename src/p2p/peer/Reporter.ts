/**
 * The report a peer sends the tracker every `reportMs`: its upload backlog, its continuity since
 * the last report, and how on time each parent's pushes were: what the tracker scores peers and
 * demotes super nodes by.
 */
import { EDGE, Msg } from '../messages.js';
import type { Outbox } from './Outbox.js';
import type { Parents } from './Parents.js';
import type { PeerStats } from './PeerStats.js';
import type { Uploads } from './Uploads.js';

export class Reporter {
  /** Slices due and played on time at the last report. */
  private due = 0;
  private onTime = 0;

  constructor(
    private readonly stats: PeerStats,
    private readonly parents: Parents,
    private readonly uploads: Uploads,
    private readonly io: Outbox,
  ) {}

  report(): void {
    const parents = this.parents.report();
    const due = this.stats.played + this.stats.missed - this.due;
    const onTime = this.stats.onTime - this.onTime;
    this.due = this.stats.played + this.stats.missed;
    this.onTime = this.stats.onTime;
    const continuity = due > 0 ? Math.round((1000 * onTime) / due) : 1000;
    this.io.send(EDGE, { t: Msg.Report, backlogMs: Math.min(0xffffffff, Math.round(this.uploads.backlogMs)), continuity, parents });
  }
}
