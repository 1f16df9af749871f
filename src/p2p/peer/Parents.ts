/**
 * Where a peer's pushes come from: one parent per substream (seq % K), the edge or a super node
 * the tracker named, pre-subscribed so the parent pushes every future slice of it. Subscriptions
 * are leases renewed every 5 s; a parent that refuses, leaves, or stops pushing is replaced by
 * asking the edge (at most once per 2 s per substream). The push delay measured per substream
 * sets how long the push stage waits before pulling, and the on-time pushes are what this peer
 * reports about each parent.
 */
import type { P2pConfig } from '../config.js';
import { EDGE, Msg } from '../messages.js';
import type { Outbox, Self } from './Outbox.js';

export class Parents {
  /** ids[k]: who pushes substream k here (EDGE = the edge; -1 = nobody yet). */
  readonly ids: number[];
  /** Substreams whose parent has acknowledged the subscription (bit mask). */
  private acked = 0;
  private nextRenew = 0;
  private readonly pushDelay: number[];
  private readonly lastPush: number[];
  private readonly asked: number[];
  private readonly expected: number[];
  private readonly onTime: number[];
  private readonly frameMs: number;

  constructor(
    private readonly c: P2pConfig,
    private readonly self: Self,
    private readonly io: Outbox,
  ) {
    const k = c.substreams;
    this.ids = new Array(k).fill(-1);
    this.pushDelay = new Array(k).fill(150);
    this.lastPush = new Array(k).fill(0);
    this.asked = new Array(k).fill(-1e9);
    this.expected = new Array(k).fill(0);
    this.onTime = new Array(k).fill(0);
    this.frameMs = 1000 / c.fps;
  }

  set(now: number, k: number, id: number): void {
    if (k < 0 || k >= this.ids.length || id === this.self.id) return;
    const old = this.ids[k]!;
    if (old === id) return;
    this.ids[k] = id;
    this.acked &= ~(1 << k);
    // A new parent gets the same grace as one that just pushed, before it can be blamed.
    this.lastPush[k] = now;
    if (old > 0) this.io.send(old, { t: Msg.Subscribe, mask: this.maskOf(old) });
    if (id > 0) this.io.send(id, { t: Msg.Subscribe, mask: this.maskOf(id) });
  }

  /** A super node now: the substreams it carries come from the edge itself. */
  takeFromEdge(now: number, mask: number): void {
    for (let k = 0; k < this.ids.length; k++) if (mask & (1 << k)) this.set(now, k, EDGE);
  }

  maskOf(id: number): number {
    let mask = 0;
    for (let k = 0; k < this.ids.length; k++) if (this.ids[k] === id) mask |= 1 << k;
    return mask;
  }

  onSubAck(now: number, from: number, mask: number): void {
    for (let k = 0; k < this.ids.length; k++) {
      if (this.ids[k] !== from) continue;
      if (mask & (1 << k)) this.acked |= 1 << k;
      else {
        // Refused (full, or no longer a super node for it): ask again now, whatever the last ask.
        this.asked[k] = -1e9;
        this.ask(now, k);
      }
    }
  }

  /** Asks the edge for another parent of substream k; `late` blames the old one (it stopped or lagged). */
  ask(now: number, k: number, late = false): void {
    if (now - this.asked[k]! < 2000) return;
    this.asked[k] = now;
    const not = this.ids[k]!;
    this.io.send(EDGE, { t: Msg.NeedParent, substream: k, not: Math.max(0, not), late });
  }

  /**
   * Asks for a new parent of every substream `id` carried (it left, vanished, or forged).
   * `left`: it said Bye, so the ask goes now even within 2 s of the last one.
   */
  replace(now: number, id: number, left = false): void {
    for (let k = 0; k < this.ids.length; k++) {
      if (this.ids[k] !== id) continue;
      if (left) this.asked[k] = -1e9;
      this.ask(now, k);
    }
  }

  /**
   * Renews the leases: every 5 s all of them, and at once those not acknowledged yet (the
   * Subscribe may have been lost); a parent drops children that stopped renewing.
   */
  renew(now: number): void {
    const renewAll = now >= this.nextRenew;
    if (renewAll) this.nextRenew = now + 5000;
    const ids = new Set<number>();
    for (let k = 0; k < this.ids.length; k++) {
      const p = this.ids[k]!;
      if (p > 0 && (renewAll || !(this.acked & (1 << k)))) ids.add(p);
    }
    for (const id of ids) this.io.send(id, { t: Msg.Subscribe, mask: this.maskOf(id) });
  }

  /** A parent that stopped pushing: half a second past the push deadline with nothing, ask for another. */
  checkStalls(now: number): void {
    for (let k = 0; k < this.ids.length; k++) {
      const p = this.ids[k]!;
      if (p === EDGE) continue;
      const expectedBy = this.lastPush[k]! + this.c.substreams * this.frameMs + this.pushDelay[k]! + 500;
      if (p < 0) this.ask(now, k);
      else if (now > expectedBy) this.ask(now, k, true);
    }
  }

  /** The edge announced a slice of substream k: its parent owes a push. */
  expect(k: number): void {
    if (this.ids[k]! > 0) this.expected[k]!++;
  }

  /** How long after capture the push stage of substream k lasts. */
  pushWait(k: number): number {
    return Math.min(this.pushDelay[k]! + this.c.pushJitterMs, this.c.targetDelayMs / 2);
  }

  /** A push from k's parent came (counted on time within the push stage, even if a pull won the race). */
  pushed(now: number, k: number, from: number, captureMs: number): void {
    this.lastPush[k] = now;
    const d = now - captureMs;
    this.pushDelay[k] = 0.9 * this.pushDelay[k]! + 0.1 * Math.min(d, 1000);
    // On time for the tracker's score: within half the target delay, what the pull stage needs left.
    if (from !== EDGE && d <= this.c.targetDelayMs / 2) this.onTime[k]!++;
  }

  /** Per peer parent, the share of owed pushes that came on time since the last report (x1000); resets the counts. */
  report(): Array<{ id: number; onTime: number }> {
    const parents = [];
    for (let k = 0; k < this.ids.length; k++) {
      const p = this.ids[k]!;
      if (p > 0 && this.expected[k]! > 0) parents.push({ id: p, onTime: Math.round((1000 * this.onTime[k]!) / this.expected[k]!) });
      this.expected[k] = 0;
      this.onTime[k] = 0;
    }
    return parents;
  }
}
