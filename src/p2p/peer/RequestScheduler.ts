/**
 * Which neighbour to ask for which missing slice, and when to give up on neighbours: walks the
 * slices from the play head on, moves those whose push deadline passed to pulling, asks the
 * best neighbour whose buffer map has the slice (up to `pullTries`, each timing out after about
 * one RTT), and hands a slice to the edge fallback when it is rare (nobody has it) or urgent
 * (its play time is near, even while a pull is still out).
 * Timeouts and NotHave answers score the neighbour down; a NotHave for a slice its map claimed
 * is a lie, and three lies drop it.
 */
import { MAX_SEQS } from '../codec.js';
import type { P2pConfig } from '../config.js';
import { Msg } from '../messages.js';
import type { Neighbour } from '../Neighbours.js';
import type { Player } from '../Player.js';
import { Stage, type Entry, type SliceBuffer } from '../SliceBuffer.js';
import type { EdgeFallback } from './EdgeFallback.js';
import type { Membership } from './Membership.js';
import type { DropFn, Outbox } from './Outbox.js';
import { Bad, type PeerStats } from './PeerStats.js';
import { XorShift } from '../XorShift.js';

export class RequestScheduler {
  private rng: XorShift;

  constructor(
    private readonly c: P2pConfig,
    private readonly buf: SliceBuffer,
    private readonly player: Player,
    private readonly members: Membership,
    private readonly fallback: EdgeFallback,
    private readonly stats: PeerStats,
    private readonly io: Outbox,
    private readonly drop: DropFn,
    /** Seeds the tie-breaks between equal neighbours, so runs repeat. */
    seed: number,
  ) {
    this.rng = new XorShift((seed * 2654435761) >>> 0);
  }

  /** Walks the slices not yet held from the play head on; returns the next time it must look again. */
  fetch(now: number): number {
    let wake = Infinity;
    const requests = new Map<number, number[]>();
    const candidates = this.members.up();
    for (let seq = this.player.head; seq < this.buf.head; seq++) {
      const e = this.buf.get(seq);
      if (!e || e.payload || !e.info) continue;
      if (e.stage === Stage.Push) {
        if (now < e.dueAt) { wake = Math.min(wake, e.dueAt); continue; }
        e.stage = Stage.Pull;
        e.tries = 0;
        e.dueAt = 0;
      }
      const playAt = e.captureMs + this.player.delay;
      const urgent = this.fallback.urgent(playAt, now);
      if (e.dueAt > now) {
        // A pull still out at the last moment the edge can bring the slice in time: the edge now,
        // if the budget allows (most of the slices that missed their play time were waiting on a
        // pull, docs/benchmarks.md). The pull's answer is still taken if it comes first.
        const lastCall = this.fallback.lastCall(playAt);
        const pulling = e.stage === Stage.Pull && e.asked > 0;
        if (!pulling || now < lastCall || e.dueAt <= lastCall || !this.fallback.canAsk(now)) {
          wake = Math.min(wake, e.dueAt, pulling && e.dueAt > lastCall ? lastCall : Infinity);
          continue;
        }
        const nb = this.members.get(e.asked);
        if (nb) nb.inflight = Math.max(0, nb.inflight - 1);
        e.asked = -1;
        e.stage = Stage.Compensate;
        e.tries = 0;
      }
      if (e.asked > 0) {
        // The last request timed out: that neighbour missed.
        const nb = this.members.get(e.asked);
        if (nb) { nb.misses++; nb.inflight = Math.max(0, nb.inflight - 1); }
        e.asked = -1;
      }
      if (e.stage === Stage.Pull) {
        if (e.tries < this.c.pullTries) {
          const nb = this.bestHolder(candidates, seq);
          if (nb) {
            e.tries++;
            e.asked = nb.id;
            e.askedAt = now;
            nb.inflight++;
            e.dueAt = now + 1.5 * nb.rttMs + 30;
            let list = requests.get(nb.id);
            if (!list) requests.set(nb.id, (list = []));
            list.push(seq);
            wake = Math.min(wake, e.dueAt);
            continue;
          }
        }
        // Rare (no neighbour has it) or pulled three times in vain: on to compensation when it is
        // urgent or rare; a slice nobody has yet that is far from its play time waits a little.
        if (!urgent && e.tries < this.c.pullTries && this.fallback.canWait(playAt, now)) {
          e.dueAt = now + 50;
          wake = Math.min(wake, e.dueAt);
          continue;
        }
        e.stage = Stage.Compensate;
        e.tries = 0;
      }
      if (e.stage === Stage.Compensate) wake = Math.min(wake, this.fallback.step(now, e));
    }
    for (const [id, seqs] of requests) for (let i = 0; i < seqs.length; i += MAX_SEQS) this.io.send(id, { t: Msg.Request, seqs: seqs.slice(i, i + MAX_SEQS) });
    this.fallback.flush();
    return wake;
  }

  /** A neighbour answered a request of ours (with the slice, or a duplicate of one we got elsewhere). */
  answered(now: number, e: Entry, from: number): void {
    const nb = this.members.get(from);
    if (nb) {
      nb.hits++;
      nb.inflight = Math.max(0, nb.inflight - 1);
      nb.rttMs = 0.8 * nb.rttMs + 0.2 * (now - e.askedAt);
    }
    e.asked = -1;
  }

  onNotHave(now: number, from: number, seqs: number[]): void {
    const nb = this.members.get(from);
    if (!nb) return;
    for (const seq of seqs) {
      const e = this.buf.get(seq);
      if (!e || e.asked !== from) continue;
      nb.misses++;
      nb.inflight = Math.max(0, nb.inflight - 1);
      e.asked = -1;
      e.dueAt = 0;
      // Its map claimed this slice, and not at the old edge of the map (which it may have evicted since).
      if (nb.claims(seq) && seq >= nb.mapBase + this.c.fps) {
        nb.lies++;
        this.stats.lies++;
      }
    }
    if (nb.lies >= 3) this.drop(from, Bad.Lies);
    this.io.wake(now);
  }

  /** The best neighbour that has (or very likely has) `seq`, preferring claims over guesses. */
  private bestHolder(candidates: Neighbour[], seq: number): Neighbour | undefined {
    let best: Neighbour | undefined;
    let bestScore = -Infinity;
    for (const nb of candidates) {
      if (nb.inflight > 40) continue;
      const claims = nb.claims(seq);
      if (!claims && !nb.likelyHas(seq)) continue;
      const s = nb.score() + (claims ? 1 : 0) - nb.inflight * 0.02 + this.rng.next() * 0.05;
      if (s > bestScore) { bestScore = s; best = nb; }
    }
    return best;
  }
}
