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
 *
 * This class routes messages and timers to the parts in peer/, one mechanism each:
 *   Membership        neighbours: connect, gossip buffer maps, time out, survival, bans
 *   Parents           the push tree upward: a parent per substream, leases, replacement
 *   Children          the push tree downward (super nodes): push slots, forwarding
 *   SliceIntake       digests and slices in: push stage, verification, parking
 *   RequestScheduler  the pull stage: who to ask for which slice, timeouts, lies
 *   EdgeFallback      the compensation stage and its budget
 *   Uploads           answering neighbours' requests, flood and backlog limits
 *   Reporter          the periodic report to the tracker
 * They share one Outbox, so the messages leave in the order they always did.
 */
import { WireError, decode } from './codec.js';
import type { P2pConfig } from './config.js';
import { EDGE, Msg, type AnyMsg, type Out, type WelcomeMsg } from './messages.js';
import type { Neighbour } from './Neighbours.js';
import { Children } from './peer/Children.js';
import { EdgeFallback } from './peer/EdgeFallback.js';
import { Membership } from './peer/Membership.js';
import type { Outbox } from './peer/Outbox.js';
import { Parents } from './peer/Parents.js';
import { Bad, PeerStats, type PlaySink } from './peer/PeerStats.js';
import { Reporter } from './peer/Reporter.js';
import { RequestScheduler } from './peer/RequestScheduler.js';
import { SliceIntake } from './peer/SliceIntake.js';
import { Uploads } from './peer/Uploads.js';
import { Player } from './Player.js';
import { SliceBuffer } from './SliceBuffer.js';
import type { Hasher } from './slice.js';

export { Bad, PeerStats, type PlaySink } from './peer/PeerStats.js';

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

export class Peer {
  readonly stats = new PeerStats();
  /** Earliest time `poll` has something to do. */
  wakeAt = 0;
  private readonly self = { id: 0, welcomed: false };
  private readonly c: P2pConfig;
  private readonly buf = new SliceBuffer();
  private out: Out[] = [];
  private joinedAt = 0;
  private readonly player: Player;
  private readonly members: Membership;
  private readonly tree: Parents;
  private readonly kids: Children;
  private readonly fallback: EdgeFallback;
  private readonly scheduler: RequestScheduler;
  private readonly intake: SliceIntake;
  private readonly uploads: Uploads;
  private readonly reporter: Reporter;
  private nextGossip = 0;
  private nextReport = 0;
  private nextUpkeep = 0;

  constructor(readonly opts: PeerOptions) {
    const c = (this.c = opts.config);
    const io: Outbox = {
      send: (to, msg) => {
        if (to !== EDGE && msg.t === Msg.Slice) this.uploads.queued(msg.payload.length);
        this.out.push({ to, msg });
      },
      wake: (now) => void (this.wakeAt = now),
    };
    const drop = (id: number, reason: Bad): void => this.dropNeighbour(id, reason);
    this.player = new Player(c, this.buf, this.stats, opts.sink);
    this.members = new Membership(c, this.self, this.buf, this.stats, io);
    this.tree = new Parents(c, this.self, io);
    this.kids = new Children(c, opts.uploadKbps, io);
    this.fallback = new EdgeFallback(c, this.buf, this.stats, io);
    this.scheduler = new RequestScheduler(c, this.buf, this.player, this.members, this.fallback, this.stats, io, drop, opts.seed);
    this.intake = new SliceIntake({ c, self: this.self, buf: this.buf, player: this.player, members: this.members, parents: this.tree, children: this.kids, scheduler: this.scheduler, fallback: this.fallback, stats: this.stats, hash: opts.hash, io, drop });
    this.uploads = new Uploads(opts.uploadKbps, this.buf, this.members, this.stats, io, drop);
    this.reporter = new Reporter(this.stats, this.tree, this.uploads, io);
  }

  /** The id the edge gave this peer (0 until welcomed). */
  get id(): number {
    return this.self.id;
  }

  get neighbours(): ReadonlyMap<number, Neighbour> {
    return this.members.table;
  }

  /** parents[k]: who pushes substream k here (EDGE = the edge; -1 = nobody yet). */
  get parents(): readonly number[] {
    return this.tree.ids;
  }

  /** child id -> substreams this peer pushes to it. */
  get children(): ReadonlyMap<number, number> {
    return this.kids.map;
  }

  /** Substream bit mask this peer is a super node for (0: an ordinary peer). */
  get role(): number {
    return this.kids.role;
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
    for (const id of this.members.table.keys()) this.send(id, { t: Msg.Bye });
    for (const id of this.kids.map.keys()) if (!this.members.has(id)) this.send(id, { t: Msg.Bye });
    this.send(EDGE, { t: Msg.Leave });
  }

  /** The shell's measure of this peer's upload queue (e.g. a data channel's bufferedAmount), ms. */
  setBacklog(ms: number): void {
    this.uploads.measured(ms);
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
      const nb = this.members.get(from);
      if (nb && ++nb.floods > 3) this.dropNeighbour(from, Bad.Garbage);
      return;
    }
    this.receive(now, from, msg);
  }

  receive(now: number, from: number, m: AnyMsg): void {
    if (from !== EDGE) this.members.heard(now, from);
    switch (m.t) {
      case Msg.Welcome: if (from === EDGE) this.onWelcome(now, m); break;
      case Msg.Digests: if (from === EDGE) for (const i of m.infos) this.intake.onInfo(now, i); break;
      case Msg.Parent: if (from === EDGE) this.tree.set(now, m.substream, m.id); break;
      case Msg.Role: if (from === EDGE) this.onRole(now, m.mask); break;
      case Msg.Refused: if (from === EDGE) this.fallback.onRefused(now, m.seqs); break;
      case Msg.Neighbours: if (from === EDGE) for (const id of m.ids) this.members.connect(now, id); break;
      case Msg.Slice: this.intake.onSlice(now, from, m); break;
      case Msg.Hello: this.members.onHello(now, from, m.ack); break;
      case Msg.BufferMap: this.members.onBufferMap(from, m.base, m.bits); break;
      case Msg.Request: this.uploads.onRequest(now, from, m.seqs); break;
      case Msg.NotHave: this.scheduler.onNotHave(now, from, m.seqs); break;
      case Msg.Subscribe: this.kids.onSubscribe(now, from, m.mask); break;
      case Msg.SubAck: this.tree.onSubAck(now, from, m.mask); break;
      case Msg.Bye: this.onBye(now, from); break;
      default: this.stats.unsolicited++;
    }
  }

  poll(now: number): void {
    if (!this.self.welcomed) {
      this.wakeAt = now + 1000;
      return;
    }
    if (now >= this.nextGossip) {
      this.nextGossip = now + this.c.gossipMs;
      this.members.gossip();
    }
    if (now >= this.nextReport) {
      this.nextReport = now + this.c.reportMs;
      this.reporter.report();
    }
    if (now >= this.nextUpkeep) this.upkeep(now);
    let wake = Math.min(this.nextGossip, this.nextReport, this.nextUpkeep);
    wake = Math.min(wake, this.scheduler.fetch(now));
    wake = Math.min(wake, this.player.play(now, this.joinedAt));
    this.evict();
    this.intake.expire(now);
    this.wakeAt = Math.max(now + 5, wake);
  }

  private onWelcome(now: number, m: WelcomeMsg): void {
    if (this.self.welcomed) return;
    this.self.welcomed = true;
    this.self.id = m.id;
    this.fallback.rttMs = Math.max(10, now - this.joinedAt);
    // Start at the newest keyframe the edge holds: a decoder needs it, and the frames after it are
    // old enough that neighbours hold them, so the whole GOP comes by pull at once.
    let start = m.index.length ? m.index[m.index.length - 1]!.seq : 0;
    for (let i = m.index.length - 1; i >= 0; i--) if (m.index[i]!.key) { start = m.index[i]!.seq; break; }
    this.buf.reset(start);
    this.player.head = start;
    for (const info of m.index) if (info.seq >= start) this.intake.onInfo(now, info);
    for (const id of m.neighbours) this.members.connect(now, id);
    for (let k = 0; k < m.parents.length && k < this.tree.ids.length; k++) this.tree.set(now, k, m.parents[k]!);
    this.nextGossip = now + this.fallback.rttMs;
    this.nextReport = now + this.c.reportMs;
    this.nextUpkeep = now + 1000;
    this.wakeAt = now;
  }

  private onRole(now: number, mask: number): void {
    // What it is responsible for it now takes from the edge itself; children of what it no
    // longer carries (demoted, or moved to other substreams) must find another parent.
    this.tree.takeFromEdge(now, mask);
    this.kids.setRole(mask);
  }

  private onBye(now: number, from: number): void {
    this.members.remove(from);
    this.kids.gone(from);
    // A parent that said Bye is replaced at once. (It was called with now = -1e9, which the
    // 2 s guard in Parents.ask always turned away: the stall check replaced it a second later.)
    this.tree.replace(now, from, true);
  }

  private upkeep(now: number): void {
    this.nextUpkeep = now + 1000;
    this.members.upkeep(now, (id) => {
      this.kids.remove(id);
      this.tree.replace(now, id);
    });
    this.tree.renew(now);
    this.kids.expire(now);
    if (this.player.started) this.tree.checkStalls(now);
  }

  private dropNeighbour(id: number, reason: Bad): void {
    this.members.ban(id, reason);
    this.kids.remove(id);
  }

  private evict(): void {
    const keep = Math.ceil((this.c.keepPlayedMs / 1000) * this.c.fps);
    this.buf.evictBelow(this.player.head - keep);
  }

  private send(to: number, msg: AnyMsg): void {
    this.out.push({ to, msg });
  }
}
