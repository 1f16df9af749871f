/**
 * One viewer's P2P logic, sans-IO: `receive(now, from, msg)` and `poll(now)` in, messages out
 * (`drain()`), the next wake-up in `wakeAt`. The shell owns the connections (WebRTC data
 * channels, the transport, the simulator's links) and the clock.
 *
 * How a slice gets here, in the three stages of the playback buffer (source design):
 *  1. push: the super node this peer pre-subscribed the slice's substream from (seq % K)
 *     pushes it; the stage lasts the measured push delay plus ~100 ms of jitter;
 *  2. pull: ask the best neighbour whose buffer map has it, up to 3 tries (one RTT each);
 *  3. compensation: ask the edge, up to 4 tries, only when the slice is rare (no neighbour
 *     has it) or urgent (its play time is near), within a budget the edge enforces; refused
 *     or failed, it goes back to pulling.
 * Played slices stay `keepPlayedMs` for neighbours. Everything a neighbour sends is checked:
 * slices against the edge's digests, NotHave against its buffer map (lies), requests against
 * a token bucket (floods); each costs it score, and the worst are dropped and reported.
 */
import { MAX_BITMAP_BYTES, MAX_SEQS, WireError, decode } from './codec.js';
import { pushSlots, type P2pConfig } from './config.js';
import { EDGE, Msg, type AnyMsg, type Out, type SliceInfo, type SliceMsg, type WelcomeMsg } from './messages.js';
import { Neighbour } from './Neighbours.js';
import { Player } from './Player.js';
import { SliceBuffer, Stage, type Entry } from './SliceBuffer.js';
import { verifySlice, type Hasher } from './slice.js';
import { TokenBucket } from './TokenBucket.js';

export interface PeerOptions {
  config: P2pConfig;
  region: number;
  isp: number;
  /** What the shell measured this peer's upload to be. */
  uploadKbps: number;
  /** Can accept direct connections (STUN says so); false behind symmetric NATs. */
  reachable: boolean;
  hash: Hasher;
  /** Seeds the tie-breaks between equal neighbours, so runs repeat. */
  seed: number;
  sink?: PlaySink;
}

/** Where playback figures go (the simulator's ledger, a player's stats panel). */
export interface PlaySink {
  started(ms: number): void;
  played(delayMs: number, onTime: boolean, bytes: number): void;
  missed(): void;
}

/** Reasons in BadPeer reports. */
export const enum Bad {
  Forged = 1,
  Lies = 2,
  Flood = 3,
  Garbage = 4,
}

export class PeerStats {
  played = 0;
  onTime = 0;
  late = 0;
  missed = 0;
  pushed = 0;
  pulled = 0;
  compensated = 0;
  duplicates = 0;
  forged = 0;
  outOfWindow = 0;
  unsolicited = 0;
  floodDropped = 0;
  lies = 0;
  wireErrors = 0;
  served = 0;
  compensationAsked = 0;
  compensationRefused = 0;
  droppedNeighbours = 0;
}

/** Parked slices waiting for their digest, at most this many (a flood of unannounced slices is dropped). */
const MAX_PARKED = 64;
const PARKED_MS = 2000;

export class Peer {
  id = 0;
  readonly stats = new PeerStats();
  /** Earliest time `poll` has something to do. */
  wakeAt = 0;
  /** Substream bit mask this peer is a super node for (0: an ordinary peer). */
  role = 0;
  readonly neighbours = new Map<number, Neighbour>();
  /** parents[k]: who pushes substream k here (EDGE = the edge; -1 = nobody yet). */
  parents: number[];
  readonly children = new Map<number, number>();
  /** When each child last renewed its subscription: a child that stops renewing (gone) is dropped. */
  private childSeen = new Map<number, number>();
  /** Substreams whose parent has acknowledged the subscription (bit mask). */
  private acked = 0;
  private nextRenew = 0;
  private readonly c: P2pConfig;
  private readonly buf = new SliceBuffer();
  private out: Out[] = [];
  private parked: Array<{ from: number; msg: SliceMsg; at: number }> = [];
  private joinedAt = 0;
  private welcomed = false;
  private readonly player: Player;
  private edgeRtt = 100;
  private pushDelay: number[];
  private lastPush: number[];
  private parentAsked: number[];
  private parentExpected: number[];
  private parentOnTime: number[];
  private nextGossip = 0;
  private nextReport = 0;
  private nextUpkeep = 0;
  private lastNeedNeighbours = -1e9;
  private backlogMs = 0;
  private reportPlayed = 0;
  private reportOnTime = 0;
  private rng: number;
  private readonly compensation: TokenBucket;
  private readonly frameMs: number;
  /** Peers dropped for cause (forged, lied, flooded): never neighbours again. Bounded. */
  private readonly banned = new Set<number>();

  constructor(readonly opts: PeerOptions) {
    this.c = opts.config;
    const k = this.c.substreams;
    this.parents = new Array(k).fill(-1);
    this.pushDelay = new Array(k).fill(150);
    this.lastPush = new Array(k).fill(0);
    this.parentAsked = new Array(k).fill(-1e9);
    this.parentExpected = new Array(k).fill(0);
    this.parentOnTime = new Array(k).fill(0);
    this.player = new Player(this.c, this.buf, this.stats, opts.sink);
    this.rng = (opts.seed * 2654435761) >>> 0 || 1;
    this.frameMs = 1000 / this.c.fps;
    this.compensation = new TokenBucket(this.c.compensationRate, this.c.compensationBurst, 0);
  }

  /** Asks the edge to join. */
  start(now: number): void {
    this.joinedAt = now;
    const o = this.opts;
    const nominate = o.uploadKbps >= 2 * this.c.bitrateKbps;
    this.send(EDGE, { t: Msg.Join, region: o.region, isp: o.isp, uploadKbps: o.uploadKbps, reachable: o.reachable, nominate });
    this.wakeAt = now + 1000;
  }

  /** Leaves politely (a vanished peer is found out by silence instead). */
  leave(): void {
    for (const id of this.neighbours.keys()) this.send(id, { t: Msg.Bye });
    for (const id of this.children.keys()) if (!this.neighbours.has(id)) this.send(id, { t: Msg.Bye });
    this.send(EDGE, { t: Msg.Leave });
  }

  /** The shell's measure of this peer's upload queue (e.g. a data channel's bufferedAmount), ms. */
  setBacklog(ms: number): void {
    this.backlogMs = ms;
  }

  drain(): Out[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /** Bytes from a neighbour: decoded, and garbage counted against the sender. */
  receiveBytes(now: number, from: number, data: Uint8Array): void {
    let msg: AnyMsg;
    try {
      msg = decode(data);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.stats.wireErrors++;
      const nb = this.neighbours.get(from);
      if (nb && ++nb.floods > 3) this.dropNeighbour(from, Bad.Garbage);
      return;
    }
    this.receive(now, from, msg);
  }

  receive(now: number, from: number, m: AnyMsg): void {
    if (from !== EDGE) {
      const nb = this.neighbours.get(from);
      if (nb) nb.lastHeard = now;
    }
    switch (m.t) {
      case Msg.Welcome: if (from === EDGE) this.onWelcome(now, m); break;
      case Msg.Digests: if (from === EDGE) for (const i of m.infos) this.onInfo(now, i); break;
      case Msg.Parent: if (from === EDGE) this.setParent(now, m.substream, m.id); break;
      case Msg.Role: if (from === EDGE) this.onRole(now, m.mask); break;
      case Msg.Refused: if (from === EDGE) this.onRefused(now, m.seqs); break;
      case Msg.Neighbours: if (from === EDGE) for (const id of m.ids) this.connect(now, id); break;
      case Msg.Slice: this.onSlice(now, from, m); break;
      case Msg.Hello: this.onHello(now, from, m.ack); break;
      case Msg.BufferMap: {
        const nb = this.neighbours.get(from);
        if (nb) nb.setMap(m.base, m.bits);
        else this.stats.unsolicited++;
        break;
      }
      case Msg.Request: this.onRequest(now, from, m.seqs); break;
      case Msg.NotHave: this.onNotHave(now, from, m.seqs); break;
      case Msg.Subscribe: this.onSubscribe(now, from, m.mask); break;
      case Msg.SubAck: this.onSubAck(now, from, m.mask); break;
      case Msg.Bye: this.onBye(from); break;
      default: this.stats.unsolicited++;
    }
  }

  poll(now: number): void {
    if (!this.welcomed) {
      this.wakeAt = now + 1000;
      return;
    }
    if (now >= this.nextGossip) this.gossip(now);
    if (now >= this.nextReport) this.report(now);
    if (now >= this.nextUpkeep) this.upkeep(now);
    let wake = Math.min(this.nextGossip, this.nextReport, this.nextUpkeep);
    wake = Math.min(wake, this.fetch(now));
    wake = Math.min(wake, this.player.play(now, this.joinedAt));
    this.evict();
    this.parked = this.parked.filter((p) => now - p.at < PARKED_MS);
    this.wakeAt = Math.max(now + 5, wake);
  }

  // --- joining and the tree ---

  private onWelcome(now: number, m: WelcomeMsg): void {
    if (this.welcomed) return;
    this.welcomed = true;
    this.id = m.id;
    this.edgeRtt = Math.max(10, now - this.joinedAt);
    // Start at the newest keyframe the edge holds: a decoder needs it, and the frames after it are
    // old enough that neighbours hold them, so the whole GOP comes by pull at once.
    let start = m.index.length ? m.index[m.index.length - 1]!.seq : 0;
    for (let i = m.index.length - 1; i >= 0; i--) if (m.index[i]!.key) { start = m.index[i]!.seq; break; }
    this.buf.reset(start);
    this.player.head = start;
    for (const info of m.index) if (info.seq >= start) this.onInfo(now, info);
    for (const id of m.neighbours) this.connect(now, id);
    for (let k = 0; k < m.parents.length && k < this.parents.length; k++) this.setParent(now, k, m.parents[k]!);
    this.nextGossip = now + this.edgeRtt;
    this.nextReport = now + this.c.reportMs;
    this.nextUpkeep = now + 1000;
    this.wakeAt = now;
  }

  private setParent(now: number, k: number, id: number): void {
    if (k < 0 || k >= this.parents.length || id === this.id) return;
    const old = this.parents[k]!;
    if (old === id) return;
    this.parents[k] = id;
    this.acked &= ~(1 << k);
    // A new parent gets the same grace as one that just pushed, before it can be blamed.
    this.lastPush[k] = now;
    if (old > 0) this.send(old, { t: Msg.Subscribe, mask: this.maskOf(old) });
    if (id > 0) this.send(id, { t: Msg.Subscribe, mask: this.maskOf(id) });
  }

  private maskOf(id: number): number {
    let mask = 0;
    for (let k = 0; k < this.parents.length; k++) if (this.parents[k] === id) mask |= 1 << k;
    return mask;
  }

  private onRole(now: number, mask: number): void {
    this.role = mask;
    // What it is responsible for it now takes from the edge itself.
    for (let k = 0; k < this.parents.length; k++) if (mask & (1 << k)) this.setParent(now, k, EDGE);
    // Demoted (or moved to other substreams): children of what we no longer carry must find another parent.
    for (const [child, cm] of this.children) {
      const keep = cm & mask;
      if (keep !== cm) {
        if (keep) this.children.set(child, keep);
        else this.children.delete(child);
        this.send(child, { t: Msg.SubAck, mask: keep });
      }
    }
  }

  private onSubscribe(now: number, from: number, mask: number): void {
    this.childSeen.set(from, now);
    const old = this.children.get(from) ?? 0;
    let want = mask & this.role;
    const slots = pushSlots(this.c, this.opts.uploadKbps);
    let used = 0;
    const perSub = new Array(this.c.substreams).fill(0);
    for (const [id, cm] of this.children) {
      if (id === from) continue;
      for (let k = 0; k < this.c.substreams; k++) if (cm & (1 << k)) { used++; perSub[k]++; }
    }
    for (let k = 0; k < this.c.substreams; k++) {
      if (!(want & (1 << k))) continue;
      if (used >= slots || perSub[k] >= this.c.maxChildrenPerSubstream) want &= ~(1 << k);
      else used++;
    }
    if (want) this.children.set(from, want);
    else this.children.delete(from);
    if (mask !== 0 || old !== 0) this.send(from, { t: Msg.SubAck, mask: want });
  }

  private onSubAck(now: number, from: number, mask: number): void {
    for (let k = 0; k < this.parents.length; k++) {
      if (this.parents[k] !== from) continue;
      if (mask & (1 << k)) this.acked |= 1 << k;
      else {
        // Refused (full, or no longer a super node for it): ask again now, whatever the last ask.
        this.parentAsked[k] = -1e9;
        this.askParent(now, k);
      }
    }
  }

  /** Asks the edge for another parent of substream k; `late` blames the old one (it stopped or lagged). */
  private askParent(now: number, k: number, late = false): void {
    if (now - this.parentAsked[k]! < 2000) return;
    this.parentAsked[k] = now;
    const not = this.parents[k]!;
    this.send(EDGE, { t: Msg.NeedParent, substream: k, not: Math.max(0, not), late });
  }

  private onBye(from: number): void {
    this.neighbours.delete(from);
    this.children.delete(from);
    this.childSeen.delete(from);
    for (let k = 0; k < this.parents.length; k++) if (this.parents[k] === from) this.askParent(-1e9, k);
  }

  // --- neighbours ---

  private connect(now: number, id: number): void {
    if (id === this.id || id <= 0 || this.banned.has(id) || this.neighbours.has(id) || this.neighbours.size >= this.c.maxNeighbours) return;
    const nb = new Neighbour(id, now, this.c.requestRate, this.c.requestBurst);
    nb.pendingSince = now;
    this.neighbours.set(id, nb);
    this.send(id, { t: Msg.Hello, ack: false });
  }

  private onHello(now: number, from: number, ack: boolean): void {
    let nb = this.neighbours.get(from);
    if (!ack) {
      if (!nb) {
        if (this.neighbours.size >= this.c.maxNeighbours || !this.welcomed || this.banned.has(from)) {
          this.send(from, { t: Msg.Bye });
          return;
        }
        nb = new Neighbour(from, now, this.c.requestRate, this.c.requestBurst);
        this.neighbours.set(from, nb);
      }
      nb.pendingSince = undefined;
      this.send(from, { t: Msg.Hello, ack: true });
      this.sendMap(from);
      return;
    }
    if (!nb) return;
    if (nb.pendingSince !== undefined) nb.rttMs = Math.max(1, now - nb.pendingSince);
    nb.pendingSince = undefined;
    this.sendMap(from);
  }

  private dropNeighbour(id: number, reason: Bad): void {
    if (this.banned.size >= 256) this.banned.delete(this.banned.values().next().value!);
    this.banned.add(id);
    this.neighbours.delete(id);
    this.children.delete(id);
    this.stats.droppedNeighbours++;
    this.send(id, { t: Msg.Bye });
    this.send(EDGE, { t: Msg.BadPeer, id, reason });
  }

  private sendMap(to: number): void {
    const { base, bits } = this.buf.map(MAX_BITMAP_BYTES);
    this.send(to, { t: Msg.BufferMap, base, bits });
  }

  private gossip(now: number): void {
    this.nextGossip = now + this.c.gossipMs;
    const { base, bits } = this.buf.map(MAX_BITMAP_BYTES);
    for (const nb of this.neighbours.values()) if (nb.up) this.send(nb.id, { t: Msg.BufferMap, base, bits });
  }

  private upkeep(now: number): void {
    this.nextUpkeep = now + 1000;
    let up = 0;
    for (const nb of this.neighbours.values()) {
      if ((nb.pendingSince !== undefined && now - nb.pendingSince > 3000) || now - nb.lastHeard > 3 * this.c.gossipMs + 1000) {
        this.neighbours.delete(nb.id);
        this.children.delete(nb.id);
        for (let k = 0; k < this.parents.length; k++) if (this.parents[k] === nb.id) this.askParent(now, k);
      } else if (nb.up) up++;
    }
    // Survival of the fittest: with a full table, the worst neighbour makes room for a new one.
    if (this.neighbours.size >= this.c.maxNeighbours) {
      let worst: Neighbour | undefined;
      for (const nb of this.neighbours.values()) if (nb.up && now - nb.since > 10_000 && (!worst || nb.score() < worst.score())) worst = nb;
      if (worst && worst.score() < 0.3) this.neighbours.delete(worst.id);
    }
    if (up < this.c.targetNeighbours && now - this.lastNeedNeighbours > 5000) {
      this.lastNeedNeighbours = now;
      this.send(EDGE, { t: Msg.NeedNeighbours, count: Math.min(255, this.c.targetNeighbours - up) });
    }
    // Subscriptions are leases: renewed every 5 s (at once while unacknowledged, the Subscribe
    // may have been lost); a parent drops children that stopped renewing, so the slots and the
    // upload of children that vanished come back.
    const renewAll = now >= this.nextRenew;
    if (renewAll) this.nextRenew = now + 5000;
    const ids = new Set<number>();
    for (let k = 0; k < this.parents.length; k++) {
      const p = this.parents[k]!;
      if (p > 0 && (renewAll || !(this.acked & (1 << k)))) ids.add(p);
    }
    for (const id of ids) this.send(id, { t: Msg.Subscribe, mask: this.maskOf(id) });
    for (const [child, seen] of this.childSeen) {
      if (now - seen > 12_000) {
        this.childSeen.delete(child);
        this.children.delete(child);
      }
    }
    // A parent that stopped pushing: half a second past the push deadline with nothing, ask for another.
    if (this.player.started) {
      for (let k = 0; k < this.parents.length; k++) {
        const p = this.parents[k]!;
        if (p === EDGE) continue;
        const expectedBy = this.lastPush[k]! + this.c.substreams * this.frameMs + this.pushDelay[k]! + 500;
        if (p < 0) this.askParent(now, k);
        else if (now > expectedBy) this.askParent(now, k, true);
      }
    }
  }

  private report(now: number): void {
    this.nextReport = now + this.c.reportMs;
    const parents = [];
    for (let k = 0; k < this.parents.length; k++) {
      const p = this.parents[k]!;
      if (p > 0 && this.parentExpected[k]! > 0) parents.push({ id: p, onTime: Math.round((1000 * this.parentOnTime[k]!) / this.parentExpected[k]!) });
      this.parentExpected[k] = 0;
      this.parentOnTime[k] = 0;
    }
    const due = this.stats.played + this.stats.missed - this.reportPlayed;
    const onTime = this.stats.onTime - this.reportOnTime;
    this.reportPlayed = this.stats.played + this.stats.missed;
    this.reportOnTime = this.stats.onTime;
    const continuity = due > 0 ? Math.round((1000 * onTime) / due) : 1000;
    this.send(EDGE, { t: Msg.Report, backlogMs: Math.min(0xffffffff, Math.round(this.backlogMs)), continuity, parents });
  }

  // --- slices in ---

  private onInfo(now: number, info: SliceInfo): void {
    if (!this.buf.fits(info.seq) || info.seq < this.player.head - 1) return;
    const e = this.buf.ensure(info.seq);
    if (e.info) return;
    e.info = info;
    e.captureMs = info.captureMs;
    e.key = info.key;
    if (e.payload) return;
    const k = info.seq % this.c.substreams;
    if (this.parents[k]! > 0) this.parentExpected[k]!++;
    if (this.parents[k]! >= 0 && info.captureMs + this.pushWait(k) > now) {
      e.stage = Stage.Push;
      e.dueAt = info.captureMs + this.pushWait(k);
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

  private pushWait(k: number): number {
    return Math.min(this.pushDelay[k]! + this.c.pushJitterMs, this.c.targetDelayMs / 2);
  }

  private onSlice(now: number, from: number, m: SliceMsg): void {
    if (!this.welcomed || !this.buf.fits(m.seq) || m.seq < this.player.head) {
      this.stats.outOfWindow++;
      return;
    }
    const nb = from === EDGE ? undefined : this.neighbours.get(from);
    let e = this.buf.get(m.seq);
    const k = m.seq % this.c.substreams;
    const fromParent = m.pushed && this.parents[k] === from;
    if (fromParent && e?.info) {
      // A parent's push counts as on time when it comes within the push stage, even if a pull won the race.
      this.lastPush[k] = now;
      const d = now - m.captureMs;
      this.pushDelay[k] = 0.9 * this.pushDelay[k]! + 0.1 * Math.min(d, 1000);
      // On time for the tracker's score: within half the target delay, what the pull stage needs left.
      if (from !== EDGE && d <= this.c.targetDelayMs / 2) this.parentOnTime[k]!++;
    }
    if (from !== EDGE) {
      const asked = e !== undefined && e.asked === from;
      if (!nb && !asked && !fromParent) {
        this.stats.unsolicited++;
        return;
      }
      if (!e?.info) {
        // Not announced yet: park it until the digest comes, bounded.
        if (this.parked.length < MAX_PARKED) this.parked.push({ from, msg: m, at: now });
        else this.stats.outOfWindow++;
        return;
      }
      if (e.payload) {
        this.stats.duplicates++;
        if (asked) this.answered(now, e, from);
        return;
      }
      if (!verifySlice(this.opts.hash, e.info, m.captureMs, m.key, m.payload)) {
        this.stats.forged++;
        this.dropNeighbour(from, Bad.Forged);
        for (let k = 0; k < this.parents.length; k++) if (this.parents[k] === from) this.askParent(now, k);
        return;
      }
      if (asked) this.answered(now, e, from);
    } else {
      e = this.buf.ensure(m.seq);
      if (e.payload) {
        this.stats.duplicates++;
        return;
      }
      e.captureMs = m.captureMs;
      e.key = m.key;
    }
    e.payload = m.payload;
    e.arrivedAt = now;
    e.from = from;
    e.stage = Stage.Have;
    if (fromParent) this.stats.pushed++;
    else if (from === EDGE) {
      this.stats.compensated++;
      if (e.asked === EDGE) {
        this.edgeRtt = 0.8 * this.edgeRtt + 0.2 * Math.max(10, now - e.askedAt);
        e.asked = -1;
      }
    }
    else this.stats.pulled++;
    if (this.role & (1 << k) && !e.forwarded && now - m.captureMs < this.c.targetDelayMs / 2) {
      e.forwarded = true;
      const fwd: SliceMsg = { t: Msg.Slice, seq: m.seq, captureMs: m.captureMs, key: m.key, pushed: true, payload: m.payload };
      for (const [child, mask] of this.children) if (mask & (1 << k)) this.send(child, fwd);
    }
    if (!this.player.started) this.wakeAt = now;
  }

  private answered(now: number, e: Entry, from: number): void {
    const nb = this.neighbours.get(from);
    if (nb) {
      nb.hits++;
      nb.inflight = Math.max(0, nb.inflight - 1);
      nb.rttMs = 0.8 * nb.rttMs + 0.2 * (now - e.askedAt);
    }
    e.asked = -1;
  }

  private onRequest(now: number, from: number, seqs: number[]): void {
    const nb = this.neighbours.get(from);
    if (!nb || !nb.up) {
      this.stats.unsolicited++;
      return;
    }
    if (!nb.requests.take(now, seqs.length)) {
      this.stats.floodDropped += seqs.length;
      if (++nb.floods > 5) this.dropNeighbour(from, Bad.Flood);
      return;
    }
    // With a long upload queue an answer would come too late: say nothing (the asker times out and
    // tries someone else; a NotHave for a slice our map showed would read as a lie).
    if (this.backlogMs > 300) return;
    const missing: number[] = [];
    for (const seq of seqs) {
      const e = this.buf.get(seq);
      if (e?.payload) {
        this.stats.served++;
        this.send(from, { t: Msg.Slice, seq, captureMs: e.captureMs, key: e.key, pushed: false, payload: e.payload });
      } else missing.push(seq);
    }
    if (missing.length) this.send(from, { t: Msg.NotHave, seqs: missing });
  }

  private onNotHave(now: number, from: number, seqs: number[]): void {
    const nb = this.neighbours.get(from);
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
    if (nb.lies >= 3) this.dropNeighbour(from, Bad.Lies);
    this.wakeAt = now;
  }

  private onRefused(now: number, seqs: number[]): void {
    this.stats.compensationRefused += seqs.length;
    for (const seq of seqs) {
      const e = this.buf.get(seq);
      if (!e || e.payload || e.stage !== Stage.Compensate) continue;
      e.stage = Stage.Pull;
      e.tries = 0;
      e.asked = -1;
      e.dueAt = now + this.edgeRtt;
    }
  }

  // --- pull and compensation ---

  /** Walks the slices not yet held from the play head on; returns the next time it must look again. */
  private fetch(now: number): number {
    let wake = Infinity;
    const requests = new Map<number, number[]>();
    const compensate: number[] = [];
    const candidates: Neighbour[] = [];
    for (const nb of this.neighbours.values()) if (nb.up) candidates.push(nb);
    for (let seq = this.player.head; seq < this.buf.head; seq++) {
      const e = this.buf.get(seq);
      if (!e || e.payload || !e.info) continue;
      if (e.stage === Stage.Push) {
        if (now < e.dueAt) { wake = Math.min(wake, e.dueAt); continue; }
        e.stage = Stage.Pull;
        e.tries = 0;
        e.dueAt = 0;
      }
      if (e.dueAt > now) { wake = Math.min(wake, e.dueAt); continue; }
      if (e.asked > 0) {
        // The last request timed out: that neighbour missed.
        const nb = this.neighbours.get(e.asked);
        if (nb) { nb.misses++; nb.inflight = Math.max(0, nb.inflight - 1); }
        e.asked = -1;
      }
      const playAt = e.captureMs + this.player.delay;
      const urgent = playAt - now < 4 * this.edgeRtt + 100;
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
        if (!urgent && e.tries < this.c.pullTries && playAt - now > 2 * this.edgeRtt + 300) {
          e.dueAt = now + 50;
          wake = Math.min(wake, e.dueAt);
          continue;
        }
        e.stage = Stage.Compensate;
        e.tries = 0;
      }
      if (e.stage === Stage.Compensate) {
        if (e.tries >= this.c.compensationTries || !this.compensation.take(now)) {
          // Back to pulling (source design: a failed compensation returns to the pull stage).
          e.stage = Stage.Pull;
          e.tries = 0;
          e.dueAt = now + 100;
          wake = Math.min(wake, e.dueAt);
          continue;
        }
        e.tries++;
        e.asked = EDGE;
        e.askedAt = now;
        e.dueAt = now + 1.5 * this.edgeRtt + 30;
        compensate.push(seq);
        this.stats.compensationAsked++;
        wake = Math.min(wake, e.dueAt);
      }
    }
    for (const [id, seqs] of requests) for (let i = 0; i < seqs.length; i += MAX_SEQS) this.send(id, { t: Msg.Request, seqs: seqs.slice(i, i + MAX_SEQS) });
    for (let i = 0; i < compensate.length; i += MAX_SEQS) this.send(EDGE, { t: Msg.Compensate, seqs: compensate.slice(i, i + MAX_SEQS) });
    return wake;
  }

  /** The best neighbour that has (or very likely has) `seq`, preferring claims over guesses. */
  private bestHolder(candidates: Neighbour[], seq: number): Neighbour | undefined {
    let best: Neighbour | undefined;
    let bestScore = -Infinity;
    for (const nb of candidates) {
      if (nb.inflight > 40) continue;
      const claims = nb.claims(seq);
      if (!claims && !nb.likelyHas(seq)) continue;
      const s = nb.score() + (claims ? 1 : 0) - nb.inflight * 0.02 + this.random() * 0.05;
      if (s > bestScore) { bestScore = s; best = nb; }
    }
    return best;
  }

  private evict(): void {
    const keep = Math.ceil((this.c.keepPlayedMs / 1000) * this.c.fps);
    this.buf.evictBelow(this.player.head - keep);
  }

  private random(): number {
    this.rng ^= this.rng << 13;
    this.rng ^= this.rng >>> 17;
    this.rng ^= this.rng << 5;
    return (this.rng >>> 0) / 4294967296;
  }

  private send(to: number, msg: AnyMsg): void {
    this.out.push({ to, msg });
  }
}
