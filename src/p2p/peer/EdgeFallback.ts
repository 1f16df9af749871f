/**
 * The third stage: compensation from the edge for a slice neighbours could not give in time.
 * Up to `compensationTries` asks per slice, within a token bucket that mirrors the budget the
 * edge enforces (asking past it would only be refused); a slice refused or failed goes back to
 * pulling (source design). Also keeps the RTT to the edge, which sets how urgent a slice is
 * and the last call: the latest moment one ask still brings a slice before its play time.
 */
import { MAX_SEQS } from '../codec.js';
import type { P2pConfig } from '../config.js';
import { EDGE, Msg } from '../messages.js';
import { Stage, type Entry, type SliceBuffer } from '../SliceBuffer.js';
import { TokenBucket } from '../TokenBucket.js';
import type { Outbox } from './Outbox.js';
import type { PeerStats } from './PeerStats.js';

export class EdgeFallback {
  /** RTT to the edge, ms: measured at the join, then by compensation answers. */
  rttMs = 100;
  private readonly budget: TokenBucket;
  /** Seqs asked in this scheduling round, sent by `flush`. */
  private asks: number[] = [];

  constructor(
    private readonly c: P2pConfig,
    private readonly buf: SliceBuffer,
    private readonly stats: PeerStats,
    private readonly io: Outbox,
  ) {
    this.budget = new TokenBucket(c.compensationRate, c.compensationBurst, 0);
  }

  /** Near enough to its play time that only the edge can still bring it. */
  urgent(playAt: number, now: number): boolean {
    return playAt - now < 4 * this.rttMs + 100;
  }

  /** How long one compensation ask may take before it counts as lost. */
  askMs(): number {
    return 1.5 * this.rttMs + 30;
  }

  /** The last moment one ask of the edge still brings a slice playing at `playAt`. */
  lastCall(playAt: number): number {
    return playAt - this.askMs();
  }

  /** The budget has a slice left now. */
  canAsk(now: number): boolean {
    return this.budget.available(now) >= 1;
  }

  /** Far enough from its play time that a slice nobody has yet may wait for a neighbour to get it. */
  canWait(playAt: number, now: number): boolean {
    return playAt - now > 2 * this.rttMs + 300;
  }

  /** One compensation step for an entry in that stage; returns when to look at it again. */
  step(now: number, e: Entry): number {
    if (e.tries >= this.c.compensationTries || !this.budget.take(now)) {
      // Back to pulling (source design: a failed compensation returns to the pull stage).
      e.stage = Stage.Pull;
      e.tries = 0;
      e.dueAt = now + 100;
      return e.dueAt;
    }
    e.tries++;
    e.asked = EDGE;
    e.askedAt = now;
    e.dueAt = now + this.askMs();
    this.asks.push(e.seq);
    this.stats.compensationAsked++;
    return e.dueAt;
  }

  /** Sends this round's asks. */
  flush(): void {
    const asks = this.asks;
    this.asks = [];
    for (let i = 0; i < asks.length; i += MAX_SEQS) this.io.send(EDGE, { t: Msg.Compensate, seqs: asks.slice(i, i + MAX_SEQS) });
  }

  /** The edge's answer came. */
  arrived(now: number, e: Entry): void {
    if (e.asked === EDGE) {
      this.rttMs = 0.8 * this.rttMs + 0.2 * Math.max(10, now - e.askedAt);
      e.asked = -1;
    }
  }

  /** The edge refused (budget spent): those slices go back to pulling after an edge RTT. */
  onRefused(now: number, seqs: number[]): void {
    this.stats.compensationRefused += seqs.length;
    for (const seq of seqs) {
      const e = this.buf.get(seq);
      if (!e || e.payload || e.stage !== Stage.Compensate) continue;
      e.stage = Stage.Pull;
      e.tries = 0;
      e.asked = -1;
      e.dueAt = now + this.rttMs;
    }
  }
}
