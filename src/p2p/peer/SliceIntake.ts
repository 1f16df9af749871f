/**
 * Slices and their announcements coming in. The edge's digest (SliceInfo) opens an entry and
 * puts it in the push stage (or straight into pulling when no push will come in time); a copy
 * from a peer is kept only when it was pushed by the substream's parent, asked for, or sent by
 * a neighbour, and only when it matches the digest: a forged one drops its sender. A copy that
 * comes before its digest is parked (bounded, 2 s). What a super node keeps it pushes on.
 */
import type { P2pConfig } from '../config.js';
import { EDGE, type SliceInfo, type SliceMsg } from '../messages.js';
import type { Player } from '../Player.js';
import { Stage, type SliceBuffer } from '../SliceBuffer.js';
import { verifySlice, type Hasher } from '../slice.js';
import type { Children } from './Children.js';
import type { EdgeFallback } from './EdgeFallback.js';
import type { Membership } from './Membership.js';
import type { DropFn, Outbox, Self } from './Outbox.js';
import type { Parents } from './Parents.js';
import { Bad, type PeerStats } from './PeerStats.js';
import type { RequestScheduler } from './RequestScheduler.js';

/** Parked slices waiting for their digest, at most this many (a flood of unannounced slices is dropped). */
const MAX_PARKED = 64;
const PARKED_MS = 2000;

/** What a peer's intake works with: the rest of the peer. */
export interface IntakeParts {
  c: P2pConfig;
  self: Self;
  buf: SliceBuffer;
  player: Player;
  members: Membership;
  parents: Parents;
  children: Children;
  scheduler: RequestScheduler;
  fallback: EdgeFallback;
  stats: PeerStats;
  hash: Hasher;
  io: Outbox;
  drop: DropFn;
}

export class SliceIntake {
  private parked: Array<{ from: number; msg: SliceMsg; at: number }> = [];

  constructor(private readonly p: IntakeParts) {}

  onInfo(now: number, info: SliceInfo): void {
    const { c, buf, parents } = this.p;
    if (!buf.fits(info.seq) || info.seq < this.p.player.head - 1) return;
    const e = buf.ensure(info.seq);
    if (e.info) return;
    e.info = info;
    e.captureMs = info.captureMs;
    e.key = info.key;
    if (e.payload) return;
    const k = info.seq % c.substreams;
    parents.expect(k);
    if (parents.ids[k]! >= 0 && info.captureMs + parents.pushWait(k) > now) {
      e.stage = Stage.Push;
      e.dueAt = info.captureMs + parents.pushWait(k);
    } else {
      e.stage = Stage.Pull;
      e.dueAt = 0;
    }
    for (let i = 0; i < this.parked.length; i++) {
      const p = this.parked[i]!;
      if (p.msg.seq === info.seq) {
        this.parked.splice(i--, 1);
        this.onSlice(now, p.from, p.msg);
      }
    }
  }

  onSlice(now: number, from: number, m: SliceMsg): void {
    const { c, buf, player, parents, stats } = this.p;
    if (!this.p.self.welcomed || !buf.fits(m.seq) || m.seq < player.head) {
      stats.outOfWindow++;
      return;
    }
    const nb = from === EDGE ? undefined : this.p.members.get(from);
    let e = buf.get(m.seq);
    const k = m.seq % c.substreams;
    const fromParent = m.pushed && parents.ids[k] === from;
    if (fromParent && e?.info) parents.pushed(now, k, from, m.captureMs);
    if (from !== EDGE) {
      const asked = e !== undefined && e.asked === from;
      if (!nb && !asked && !fromParent) {
        stats.unsolicited++;
        return;
      }
      if (!e?.info) {
        // Not announced yet: park it until the digest comes, bounded.
        if (this.parked.length < MAX_PARKED) this.parked.push({ from, msg: m, at: now });
        else stats.outOfWindow++;
        return;
      }
      if (e.payload) {
        stats.duplicates++;
        if (asked) this.p.scheduler.answered(now, e, from);
        return;
      }
      if (!verifySlice(this.p.hash, e.info, m.captureMs, m.key, m.payload)) {
        stats.forged++;
        this.p.drop(from, Bad.Forged);
        parents.replace(now, from);
        return;
      }
      if (asked) this.p.scheduler.answered(now, e, from);
    } else {
      e = buf.ensure(m.seq);
      if (e.payload) {
        stats.duplicates++;
        return;
      }
      e.captureMs = m.captureMs;
      e.key = m.key;
    }
    e.payload = m.payload;
    e.arrivedAt = now;
    e.from = from;
    e.stage = Stage.Have;
    if (fromParent) stats.pushed++;
    else if (from === EDGE) {
      stats.compensated++;
      this.p.fallback.arrived(now, e);
    }
    else stats.pulled++;
    this.p.children.forward(now, k, e, m);
    if (!player.started) this.p.io.wake(now);
  }

  /** Forgets parked slices whose digest never came. */
  expire(now: number): void {
    this.parked = this.parked.filter((p) => now - p.at < PARKED_MS);
  }
}
