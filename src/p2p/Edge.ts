/**
 * The edge's side of P2P delivery for one stream, sans-IO: it slices the stream (one frame a
 * slice), issues every slice's digest to every peer, pushes each substream to the super nodes
 * responsible for it (and to peers nobody else can feed), answers joins, parent requests and
 * reports through the Tracker, and serves compensation within a budget per peer and in total.
 *
 * No peer can make the edge send more than its budget: each peer has a token bucket
 * (`compensationRate` slices a second, `compensationBurst` at once, enough for a joiner's GOP),
 * and all compensation shares one bucket of a tenth of the audience's slices. What is over
 * either is refused at once (the peer goes back to pulling), not queued.
 */
import { MAX_INFOS } from './codec.js';
import type { P2pConfig } from './config.js';
import { Msg, type DigestsMsg, type Out, type SliceInfo, type SliceMsg, type ToEdge } from './messages.js';
import { makeInfo, type Hasher } from './slice.js';
import { TokenBucket } from './TokenBucket.js';
import { Tracker, type Reassign } from './Tracker.js';

export class EdgeStats {
  published = 0;
  pushedSlices = 0;
  pushBytes = 0;
  compensationSlices = 0;
  compensationBytes = 0;
  refused = 0;
  digestBytes = 0;
  joins = 0;
  rejected = 0;
}

interface Held {
  info: SliceInfo;
  payload: Uint8Array;
}

/** Slices the edge keeps for compensation and joiners. */
const HOLD_MS = 5000;
const DIGEST_EVERY_MS = 100;
/** Infos one Digests message holds (its count is a byte on the wire). */
const MAX_DIGESTS = 255;

export class Edge {
  readonly tracker: Tracker;
  readonly stats = new EdgeStats();
  wakeAt = Infinity;
  private out: Out[] = [];
  private held = new Map<number, Held>();
  private oldest = 0;
  private seq = 0;
  private pending: SliceInfo[] = [];
  private nextDigest = 0;
  private nextId = 1;
  private budgets = new Map<number, TokenBucket>();
  private global: TokenBucket;
  private globalAt = 0;

  constructor(readonly c: P2pConfig, private readonly hash: Hasher) {
    this.tracker = new Tracker(c);
    this.global = new TokenBucket(60, 60, 0);
  }

  /** A new frame of the stream, captured `now`. Returns its seq. */
  publish(now: number, payload: Uint8Array, key: boolean): number {
    const seq = this.seq++;
    const captureMs = Math.round(now);
    const info = makeInfo(this.hash, seq, captureMs, key, payload);
    this.held.set(seq, { info, payload });
    while (this.oldest < seq && this.held.get(this.oldest)!.info.captureMs < now - HOLD_MS) this.held.delete(this.oldest++);
    this.pending.push(info);
    this.stats.published++;
    const k = seq % this.c.substreams;
    const msg: SliceMsg = { t: Msg.Slice, seq, captureMs, key, pushed: true, payload };
    for (const id of this.tracker.edgeChildren[k]!) {
      this.send(id, msg);
      this.stats.pushedSlices++;
      this.stats.pushBytes += payload.length;
    }
    if (this.nextDigest <= now) this.flushDigests(now);
    return seq;
  }

  /** Sends digests in batches of DIGEST_EVERY_MS; returns the next batch time. */
  poll(now: number): void {
    if (this.pending.length && now >= this.nextDigest) this.flushDigests(now);
    this.wakeAt = this.pending.length ? this.nextDigest : Infinity;
  }

  private flushDigests(now: number): void {
    this.nextDigest = now + DIGEST_EVERY_MS;
    if (!this.pending.length) return;
    // A message carries at most MAX_DIGESTS (a real stream's GOP replayed at once is more).
    for (let i = 0; i < this.pending.length; i += MAX_DIGESTS) {
      const msg: DigestsMsg = { t: Msg.Digests, infos: this.pending.slice(i, i + MAX_DIGESTS) };
      for (const id of this.tracker.peers.keys()) this.send(id, msg);
    }
    this.pending = [];
  }

  receive(now: number, from: number, m: ToEdge): void {
    if (m.t === Msg.Join || !this.tracker.peers.has(from)) {
      this.stats.rejected++;
      return;
    }
    switch (m.t) {
      case Msg.Report: this.reassign(this.tracker.report(from, m, now)); break;
      case Msg.Compensate: this.compensate(now, from, m.seqs); break;
      case Msg.NeedParent: {
        if (m.substream >= this.c.substreams) return;
        if (m.late) this.reassign(this.tracker.parentFailed(m.not, from, m.substream, now));
        const parent = this.tracker.parentFor(from, m.substream, m.not);
        this.send(from, { t: Msg.Parent, substream: m.substream, id: parent });
        this.sendRoles();
        break;
      }
      case Msg.BadPeer: this.reassign(this.tracker.badPeer(m.id, now)); break;
      case Msg.NeedNeighbours: this.send(from, { t: Msg.Neighbours, ids: this.tracker.neighboursFor(from, Math.min(m.count, 20)) }); break;
      case Msg.Leave: this.disconnect(from); break;
    }
  }

  /** The shell lost the peer's connection to the edge (closed tab, timeout). */
  disconnect(id: number): void {
    this.budgets.delete(id);
    this.reassign(this.tracker.remove(id));
  }

  drain(): Out[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /**
   * A joiner's Join (a connection without an id yet goes here, not to `receive`). Returns the
   * id it gets, which the shell maps to that connection.
   */
  join(now: number, m: Extract<ToEdge, { t: Msg.Join }>): number {
    const id = this.nextId++;
    this.tracker.add(now, id, m);
    this.stats.joins++;
    this.budgets.set(id, new TokenBucket(this.c.compensationRate, this.c.compensationBurst, now));
    const index: SliceInfo[] = [];
    const from = Math.max(this.oldest, this.seq - Math.min(2 * this.c.fps, MAX_INFOS));
    for (let s = from; s < this.seq; s++) index.push(this.held.get(s)!.info);
    const parents = [];
    for (let k = 0; k < this.c.substreams; k++) parents.push(this.tracker.parentFor(id, k));
    this.send(id, { t: Msg.Welcome, id, substreams: this.c.substreams, index, neighbours: this.tracker.neighboursFor(id, this.c.targetNeighbours), parents });
    this.sendRoles();
    return id;
  }

  private compensate(now: number, from: number, seqs: number[]): void {
    // The shared bucket follows the audience: a tenth of what it plays, refreshed once a second.
    if (now - this.globalAt > 1000) {
      const rate = Math.max(60, 0.1 * this.tracker.peers.size * this.c.fps);
      this.global = new TokenBucket(rate, rate, now);
      this.globalAt = now;
    }
    const budget = this.budgets.get(from)!;
    const refused: number[] = [];
    for (const seq of seqs) {
      const h = this.held.get(seq);
      if (!h || !budget.take(now) || !this.global.take(now)) {
        refused.push(seq);
        continue;
      }
      this.stats.compensationSlices++;
      this.stats.compensationBytes += h.payload.length;
      this.send(from, { t: Msg.Slice, seq, captureMs: h.info.captureMs, key: h.info.key, pushed: false, payload: h.payload });
    }
    if (refused.length) {
      this.stats.refused += refused.length;
      this.send(from, { t: Msg.Refused, seqs: refused });
    }
  }

  private reassign(list: Reassign[]): void {
    for (const r of list) this.send(r.child, { t: Msg.Parent, substream: r.substream, id: r.parent });
    this.sendRoles();
  }

  /** Promotions and demotions the tracker made hear their new role. */
  private sendRoles(): void {
    for (const id of this.tracker.takeRoleChanges()) {
      const p = this.tracker.peers.get(id);
      if (p) this.send(id, { t: Msg.Role, mask: p.role });
    }
  }

  private send(to: number, msg: Out['msg']): void {
    this.out.push({ to, msg });
  }
}
