/**
 * The tracker in the edge node: the peers of one stream, who neighbours whom, who is a super
 * node for which substream and who each peer's parents are. Plain state and decisions, no I/O:
 * the Edge turns its answers into messages.
 *
 * Super nodes (source design): self-nominated by capacity (upload >= 2x the stream) and approved
 * while a substream lacks push slots, or chosen by the tracker (the peer with the most spare
 * upload) when a peer needs a parent and none has a free slot. A super node behind a NAT that
 * accepts no direct connection still pushes to peers that do accept them (it dials them), so
 * its upload is not wasted; only pairs of two such peers are never made. Demoted when their
 * children report late pushes or their own upload queue grows. A super node gets its substream
 * from the edge and pushes it to its children: two levels below the edge, never more.
 *
 * Cost: a join, a parent request or a report touches one region's lists, not every peer, so one
 * core carries 10,000 peers of a stream (test/p2p/tracker.test.ts measures it).
 */
import { pushSlots, type P2pConfig } from './config.js';
import { EDGE, type JoinMsg, type ReportMsg } from './messages.js';
import { XorShift } from './XorShift.js';

export class TrackedPeer {
  /** Substreams it is a super node for (bit mask). */
  role = 0;
  slots: number;
  /** Children per substream the tracker gave it. */
  children: number[];
  parents: number[];
  /** EWMA of its children's on-time push reports (1 = all on time). */
  quality = 1;
  reports = 0;
  backlogMs = 0;
  continuity = 1;
  badReports = 0;
  demotedAt = -1e9;
  regionIndex = -1;
  /** Substreams whose open list holds it (bit mask). */
  inOpen = 0;
  /** Peers it was given as children (pruned lazily: check their `parents`). */
  childIds = new Set<number>();
  constructor(
    readonly id: number,
    readonly join: JoinMsg,
    readonly joinedAt: number,
    c: P2pConfig,
  ) {
    this.slots = pushSlots(c, join.uploadKbps);
    this.children = new Array(c.substreams).fill(0);
    this.parents = new Array(c.substreams).fill(-1);
  }

  get hostile(): boolean {
    return this.badReports >= 3;
  }

  freeFor(c: P2pConfig, k: number): boolean {
    let used = 0;
    for (const n of this.children) used += n;
    return (this.role & (1 << k)) !== 0 && used < this.slots && this.children[k]! < c.maxChildrenPerSubstream && !this.hostile;
  }
}

/** What the edge must tell peers after a tracker decision. */
export interface Reassign {
  child: number;
  substream: number;
  parent: number;
}

export class Tracker {
  readonly peers = new Map<number, TrackedPeer>();
  /** Peers per region, for neighbour suggestions and promotions (swap-remove arrays). */
  private regions: TrackedPeer[][] = [];
  /** Super nodes per substream. */
  readonly supers: Array<Set<number>>;
  /** Who the edge pushes substream k to: its super nodes and peers it feeds directly. */
  readonly edgeChildren: Array<Set<number>>;
  /**
   * open[k][region]: super nodes of substream k that had a free slot when last seen. Stale
   * entries are removed when picked, so a pick costs a few samples, not a scan of every super node.
   */
  private open: number[][][];
  /** Push slots of substream k on offer (capped per super node) and in use: what nominations are approved against. */
  private cap: number[];
  private used: number[];
  private rng = new XorShift(0x9e3779b9);
  private joins = 0;
  /** The latest `now` any call brought (parent picks have none of their own). */
  private clock = 0;
  private promoteFailed = new Map<number, number>();
  promotions = 0;
  demotions = 0;
  private roleChanges = new Set<number>();

  constructor(readonly c: P2pConfig) {
    this.supers = Array.from({ length: c.substreams }, () => new Set<number>());
    this.edgeChildren = Array.from({ length: c.substreams }, () => new Set<number>());
    this.open = Array.from({ length: c.substreams }, () => []);
    this.cap = new Array(c.substreams).fill(0);
    this.used = new Array(c.substreams).fill(0);
  }

  private addChild(s: TrackedPeer, k: number, child: number): void {
    s.children[k]!++;
    this.used[k]!++;
    s.childIds.add(child);
    if (s.childIds.size > 4 * s.slots + 16) {
      for (const c of s.childIds) if (!this.peers.get(c)?.parents.includes(s.id)) s.childIds.delete(c);
    }
  }

  private dropChild(s: TrackedPeer | undefined, k: number): void {
    if (!s || s.children[k]! <= 0) return;
    s.children[k]!--;
    if (s.role & (1 << k)) this.used[k]!--;
    this.markOpen(s, k);
  }

  private markOpen(s: TrackedPeer, k: number): void {
    if (s.inOpen & (1 << k) || !s.freeFor(this.c, k) || !this.peers.has(s.id)) return;
    s.inOpen |= 1 << k;
    ((this.open[k]![s.join.region] ??= [])).push(s.id);
  }

  /** The best of a few open super nodes of k in `region` (not `a` or `b`), dropping stale entries met on the way. */
  private pickOpen(k: number, region: number, a: number, b: number, prefIsp: number, reachable: boolean): TrackedPeer | undefined {
    const list = this.open[k]![region];
    if (!list) return undefined;
    let best: TrackedPeer | undefined;
    let bestScore = -Infinity;
    for (let tries = 0, found = 0; tries < 12 && found < 4 && list.length; tries++) {
      const i = Math.floor(this.rng.next() * list.length);
      const s = this.peers.get(list[i]!);
      if (!s || !s.freeFor(this.c, k)) {
        if (s) s.inOpen &= ~(1 << k);
        list[i] = list[list.length - 1]!;
        list.pop();
        continue;
      }
      if (s.id === a || s.id === b || (!reachable && !s.join.reachable)) continue;
      found++;
      const score = s.quality + (s.join.isp === prefIsp ? 0.3 : 0) + this.rng.next() * 0.2;
      if (score > bestScore) { bestScore = score; best = s; }
    }
    return best;
  }

  /** Peers whose role changed since the last call (the edge tells them). */
  takeRoleChanges(): number[] {
    const ids = [...this.roleChanges];
    this.roleChanges.clear();
    return ids;
  }

  add(now: number, id: number, join: JoinMsg): TrackedPeer {
    const p = new TrackedPeer(id, join, now, this.c);
    this.joins++;
    this.clock = Math.max(this.clock, now);
    this.peers.set(id, p);
    const list = (this.regions[join.region] ??= []);
    p.regionIndex = list.length;
    list.push(p);
    // Self-nomination, approved while the neediest substream is short of push slots.
    if (join.nominate && p.slots >= 4) {
      const k = this.neediest();
      if (this.cap[k]! - this.used[k]! < 0.25 * this.peers.size * 1.1 + 8) this.promote(p, k);
    }
    return p;
  }

  /** Removes a peer; returns the parent changes its children need. */
  remove(id: number): Reassign[] {
    const p = this.peers.get(id);
    if (!p) return [];
    this.peers.delete(id);
    const list = this.regions[p.join.region]!;
    const last = list.pop()!;
    if (last !== p) {
      list[p.regionIndex] = last;
      last.regionIndex = p.regionIndex;
    }
    for (let k = 0; k < this.c.substreams; k++) {
      this.edgeChildren[k]!.delete(id);
      this.dropChild(this.peers.get(p.parents[k]!), k);
      if (p.role & (1 << k)) this.unsuper(p, k);
    }
    return p.role ? this.orphans(p, p.role) : [];
  }

  /** A parent for substream k of `id` (not `not`): a super node with a free slot, near first; else a new one; else the edge. */
  parentFor(id: number, k: number, not = -1): number {
    const p = this.peers.get(id);
    if (!p) return EDGE;
    this.dropChild(this.peers.get(p.parents[k]!), k);
    if (p.parents[k] === EDGE) this.edgeChildren[k]!.delete(id);
    p.parents[k] = -1;
    if (p.role & (1 << k)) {
      // A super node takes its own substream from the edge.
      p.parents[k] = EDGE;
      this.edgeChildren[k]!.add(id);
      return EDGE;
    }
    // Near first: an open super node of the region, else a new one there, else one elsewhere.
    const region = p.join.region;
    const reach = p.join.reachable;
    let best = this.pickOpen(k, region, id, not, p.join.isp, reach) ?? this.promoteFor(k, region, id, reach);
    for (let r = 1; !best && r < this.regions.length; r++) best = this.pickOpen(k, (region + r) % this.regions.length, id, not, p.join.isp, reach);
    if (!best) {
      p.parents[k] = EDGE;
      this.edgeChildren[k]!.add(id);
      return EDGE;
    }
    this.addChild(best, k, id);
    p.parents[k] = best.id;
    return best.id;
  }

  /** Up to n neighbours for `id`: same region (same ISP first) and connectable; a few from elsewhere. */
  neighboursFor(id: number, n: number): number[] {
    const p = this.peers.get(id);
    if (!p) return [];
    const out = new Set<number>();
    const pick = (list: TrackedPeer[] | undefined, want: number, tries: number): void => {
      if (!list || list.length === 0) return;
      const cands: Array<{ q: TrackedPeer; s: number }> = [];
      for (let i = 0; i < tries; i++) {
        const q = list[Math.floor(this.rng.next() * list.length)]!;
        if (q.id === id || out.has(q.id) || q.hostile) continue;
        if (!p.join.reachable && !q.join.reachable) continue;
        cands.push({ q, s: (q.join.isp === p.join.isp ? 1 : 0) + q.slots / 20 + q.continuity + this.rng.next() * 0.5 });
      }
      cands.sort((a, b) => b.s - a.s);
      for (const { q } of cands) {
        if (want <= 0) break;
        if (out.has(q.id)) continue;
        out.add(q.id);
        want--;
      }
    };
    pick(this.regions[p.join.region], n - 2, 3 * n);
    for (let tries = 0; out.size < n && tries < 4; tries++) {
      const r = Math.floor(this.rng.next() * this.regions.length);
      pick(this.regions[r], Math.min(2, n - out.size), 6);
    }
    return [...out];
  }

  /** A peer's report: its load and how its parents pushed. Returns reassignments from demotions. */
  report(id: number, r: ReportMsg, now: number): Reassign[] {
    const p = this.peers.get(id);
    if (!p) return [];
    this.clock = Math.max(this.clock, now);
    p.backlogMs = r.backlogMs;
    p.continuity = r.continuity / 1000;
    const out: Reassign[] = [];
    for (const { id: pid, onTime } of r.parents) {
      const s = this.peers.get(pid);
      if (!s || p.parents.indexOf(pid) < 0) continue;
      s.quality = 0.8 * s.quality + 0.2 * (onTime / 1000);
      s.reports++;
    }
    for (const { id: pid } of r.parents) {
      const s = this.peers.get(pid);
      if (s && s.role && ((s.reports >= this.c.demoteAfterReports && s.quality < this.c.demoteBelow) || s.backlogMs > 1000)) out.push(...this.demote(s, now));
    }
    if (p.role && p.backlogMs > 1000) out.push(...this.demote(p, now));
    if (this.c.moveOffEdge && !p.hostile) this.offTheEdge(p, out);
    return out;
  }

  /**
   * A peer the edge feeds a substream it is no super node for (nobody had a free slot when it
   * asked, as for every early joiner) moves to a super node with a free slot once one exists: one
   * substream a report, so a small audience stops costing the edge a stream per viewer.
   */
  private offTheEdge(p: TrackedPeer, out: Reassign[]): void {
    for (let k = 0; k < this.c.substreams; k++) {
      if (p.parents[k] !== EDGE || p.role & (1 << k)) continue;
      const s = this.pickOpen(k, p.join.region, p.id, -1, p.join.isp, p.join.reachable);
      if (!s) continue;
      this.edgeChildren[k]!.delete(p.id);
      this.addChild(s, k, p.id);
      p.parents[k] = s.id;
      out.push({ child: p.id, substream: k, parent: s.id });
      return;
    }
  }

  /**
   * A child says its parent `id` stopped pushing substream k (or lagged): the same as a report of
   * nothing on time, so a super node its children keep leaving is demoted.
   */
  parentFailed(id: number, child: number, k: number, now: number): Reassign[] {
    const s = this.peers.get(id);
    const c = this.peers.get(child);
    if (!s || !c || c.parents[k] !== id) return [];
    // Leaving is a stronger signal than one late report: it weighs as two.
    s.quality = 0.7 * s.quality;
    s.reports += 2;
    return s.role && s.reports >= this.c.demoteAfterReports && s.quality < this.c.demoteBelow ? this.demote(s, now) : [];
  }

  /** Someone says `id` sent it a forged slice, lied or flooded it. */
  badPeer(id: number, now: number): Reassign[] {
    const p = this.peers.get(id);
    if (!p) return [];
    p.badReports++;
    return p.hostile && p.role ? this.demote(p, now) : [];
  }

  /** Takes super node status away; its children get other parents. */
  demote(p: TrackedPeer, now: number): Reassign[] {
    if (!p.role) return [];
    const role = p.role;
    p.role = 0;
    p.demotedAt = now;
    this.roleChanges.add(p.id);
    this.demotions++;
    for (let k = 0; k < this.c.substreams; k++) {
      if (!(role & (1 << k))) continue;
      this.unsuper(p, k);
      this.edgeChildren[k]!.delete(p.id);
    }
    const out = this.orphans(p, role);
    // It now needs its old substreams from someone else.
    for (let k = 0; k < this.c.substreams; k++) if (role & (1 << k)) out.push({ child: p.id, substream: k, parent: this.parentFor(p.id, k) });
    return out;
  }

  private unsuper(p: TrackedPeer, k: number): void {
    this.supers[k]!.delete(p.id);
    this.cap[k]! -= Math.min(this.c.maxChildrenPerSubstream, p.slots);
    this.used[k]! -= p.children[k]!;
  }

  private orphans(p: TrackedPeer, role: number): Reassign[] {
    const out: Reassign[] = [];
    for (let k = 0; k < this.c.substreams; k++) {
      if (!(role & (1 << k))) continue;
      p.children[k] = 0;
      for (const cid of p.childIds) {
        const q = this.peers.get(cid);
        if (!q || q.parents[k] !== p.id) continue;
        q.parents[k] = -1;
        out.push({ child: q.id, substream: k, parent: this.parentFor(q.id, k, p.id) });
      }
    }
    return out;
  }

  private promote(p: TrackedPeer, k: number): void {
    this.dropChild(this.peers.get(p.parents[k]!), k);
    p.role |= 1 << k;
    this.roleChanges.add(p.id);
    this.supers[k]!.add(p.id);
    this.cap[k]! += Math.min(this.c.maxChildrenPerSubstream, p.slots);
    this.promotions++;
    p.parents[k] = EDGE;
    this.edgeChildren[k]!.add(p.id);
    this.markOpen(p, k);
  }

  /** The edge picks a super node for k: the reachable peer near `region` with the most spare upload. */
  private promoteFor(k: number, region: number, not: number, reachable: boolean): TrackedPeer | undefined {
    // After a failed search, wait a second before searching that region again (peers change slowly).
    const memo = (k * 256 + region) * 2 + (reachable ? 1 : 0);
    if (this.clock - (this.promoteFailed.get(memo) ?? -1e9) < 1000) return undefined;
    const list = this.regions[region] ?? [];
    let best: TrackedPeer | undefined;
    let bestSpare = 0;
    const n = Math.min(list.length, 32);
    for (let i = 0; i < n; i++) {
      const q = list[Math.floor(this.rng.next() * list.length)]!;
      if (q.id === not || (!reachable && !q.join.reachable) || q.hostile || q.role & (1 << k) || q.quality < this.c.demoteBelow) continue;
      if (this.clock - q.demotedAt < 60_000) continue; // demoted: not trusted with a substream for a minute
      let used = 0;
      for (const c of q.children) used += c;
      const roles = popcount(q.role);
      if (roles >= 2 || (roles === 1 && q.slots - used < 6)) continue;
      const spare = q.slots - used;
      if (spare > bestSpare && spare >= 3) { bestSpare = spare; best = q; }
    }
    if (best) this.promote(best, k);
    else this.promoteFailed.set(memo, this.clock);
    return best;
  }

  private neediest(): number {
    let best = 0;
    let least = Infinity;
    for (let k = 0; k < this.c.substreams; k++) {
      const f = this.cap[k]! - this.used[k]!;
      if (f < least) { least = f; best = k; }
    }
    return best;
  }
}

function popcount(v: number): number {
  let n = 0;
  for (; v; v &= v - 1) n++;
  return n;
}
