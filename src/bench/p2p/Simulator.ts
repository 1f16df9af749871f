/**
 * A discrete-event simulation of one stream's P2P swarm running the real core (src/p2p: Edge,
 * Tracker, Peer) in virtual time. The simulator only moves messages: each one waits for its
 * sender's upload FIFO, takes the pair's one-way delay, and may be lost; peer-to-peer traffic
 * between two unreachable peers never arrives. The edge's control channel (joins, digests,
 * reports, compensation requests) is a reliable connection (TCP/WebSocket in a real shell):
 * delayed, never lost. Media from the edge is lossy like any UDP path.
 *
 * Event counts stay low: a peer is polled only at the wake-up time it asks for (playback,
 * gossip and pull timers all fold into one), so per peer and frame there is about one push
 * delivery and one poll.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_CONFIG, type P2pConfig } from '../../p2p/config.js';
import { encodedSize } from '../../p2p/codec.js';
import { Edge } from '../../p2p/Edge.js';
import { EDGE, Msg, type AnyMsg, type Out, type ToEdge } from '../../p2p/messages.js';
import { Peer } from '../../p2p/Peer.js';
import type { Hasher } from '../../p2p/slice.js';
import { Prng } from '../../emulator/Prng.js';
import { Heap } from './Heap.js';
import { Ledger } from './Ledger.js';
import { canConnect, drawHost, edgeRttMs, lossRate, rttMs, transmit, type Host } from './Network.js';

export interface SimOptions {
  peers: number;
  bitrate: number;
  scenario: 'steady' | 'flash';
  /** Simulated seconds in all, warm-up included. */
  duration: number;
  seed: number;
  /** Mean stay for churn, s (0: no churn). */
  meanStay: number;
  /** Measurement starts here, s (the initial joins are a crowd of their own). */
  warmup: number;
  config?: Partial<P2pConfig>;
  /** A given audience instead of the drawn one (the real bench's twin): no churn then. */
  net?: SimNet;
}

/**
 * The hosts, join times and paths of a run with a given audience: `bench p2p --real`'s Node
 * peers and tabs, so the simulation runs the same swarm. Startups are counted for every join
 * (the whole audience joins before the measured window).
 */
export interface SimNet {
  hosts: Host[];
  joinsMs: number[];
  rttMs(a: Host, b: Host): number;
  edgeRttMs(a: Host): number;
  lossRate(a: Host, b: Host): number;
  edgeLoss: number;
  /**
   * A data channel's setup time, ms: messages between two peers wait until this long after the
   * first one between them (ICE, TURN, DTLS and SCTP in a real run; 0 or unset: none).
   */
  setupMs?: number;
}

export const nodeHasher: Hasher = (parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Media from the edge crosses a UDP path like any other. */
const EDGE_MEDIA_LOSS = 0.005;
const drawnNet = { rttMs, edgeRttMs, lossRate, edgeLoss: EDGE_MEDIA_LOSS };

interface SimPeer {
  id: number;
  host: Host;
  peer: Peer;
  alive: boolean;
  wake: number;
}

const enum Ev {
  Deliver,
  Wake,
  Frame,
  Join,
  Leave,
  EdgeWake,
  EdgeJoin,
}

interface Event {
  e: Ev;
  to: number;
  from: number;
  msg?: AnyMsg;
  sp?: SimPeer;
}

export interface FlashWindow {
  startS: number;
  edgeShare: number;
  continuity: number;
}

export class Simulator {
  readonly ledger = new Ledger();
  readonly edge: Edge;
  readonly config: P2pConfig;
  readonly peers = new Map<number, SimPeer>();
  private heap = new Heap<Event>();
  private rng: Prng;
  private now = 0;
  private frame = 0;
  private source: Uint8Array;
  events = 0;
  /** The flash crowd's start, s (flash scenario). */
  readonly crowdAt: number;
  private readonly net: Pick<SimNet, 'rttMs' | 'edgeRttMs' | 'lossRate' | 'edgeLoss' | 'setupMs'>;
  /** When each pair's channel is open (setupMs runs only). */
  private readonly openAt = new Map<number, number>();

  constructor(readonly o: SimOptions) {
    this.config = { ...DEFAULT_CONFIG, bitrateKbps: o.bitrate * 1000, ...o.config };
    this.edge = new Edge(this.config, nodeHasher);
    this.rng = new Prng(o.seed);
    this.ledger.measureFrom = o.warmup * 1000;
    // One random buffer that every frame is a window of: real bytes to hash, no per-frame allocation.
    this.source = new Uint8Array(1 << 20);
    for (let i = 0; i < this.source.length; i++) this.source[i] = Math.floor(this.rng.next() * 256);
    this.crowdAt = o.warmup + 10;
    this.net = o.net ?? drawnNet;
    if (o.net) this.ledger.allStartups = true;
  }

  run(): Ledger {
    const o = this.o;
    if (o.net) o.net.joinsMs.forEach((at, i) => this.heap.push(at, { e: Ev.Join, to: 0, from: i }));
    const initial = o.net ? 0 : o.scenario === 'flash' ? Math.round(o.peers / 2) : o.peers;
    // The first audience arrives over the first 20 s (or the warm-up if shorter).
    const spread = Math.min(20, o.warmup * 0.7) * 1000;
    for (let i = 0; i < initial; i++) this.heap.push(this.rng.next() * spread, { e: Ev.Join, to: 0, from: 0 });
    if (o.scenario === 'flash') {
      for (let i = 0; i < o.peers - initial; i++) this.heap.push(this.crowdAt * 1000 + this.rng.next() * 10_000, { e: Ev.Join, to: 0, from: 0 });
    }
    this.heap.push(0, { e: Ev.Frame, to: 0, from: 0 });
    const end = o.duration * 1000;
    while (this.heap.size && this.heap.peekTime() <= end) {
      this.now = this.heap.peekTime();
      this.ledger.now = this.now;
      const ev = this.heap.pop();
      this.events++;
      this.handle(ev);
    }
    return this.ledger;
  }

  private handle(ev: Event): void {
    switch (ev.e) {
      case Ev.Frame: {
        const c = this.config;
        const gop = c.fps;
        const key = this.frame % gop === 0;
        // 1 s GOPs, a keyframe 4x a P-frame: 33 P-frame units a second.
        const unit = (c.bitrateKbps * 125) / (gop + 3);
        const size = Math.round(key ? 4 * unit : unit * (0.8 + 0.4 * this.rng.next()));
        const at = Math.floor(this.rng.next() * (this.source.length - size));
        this.edge.publish(this.now, this.source.subarray(at, at + size), key);
        this.frame++;
        this.flushEdge();
        this.heap.push(this.frame * (1000 / c.fps), { e: Ev.Frame, to: 0, from: 0 });
        break;
      }
      case Ev.EdgeWake:
        this.edge.poll(this.now);
        this.flushEdge();
        break;
      case Ev.Join:
        this.join(this.o.net ? this.givenHost(ev.from) : undefined);
        break;
      case Ev.EdgeJoin: {
        const sp = ev.sp!;
        if (!sp.alive) return;
        sp.id = this.edge.join(this.now, ev.msg as Extract<ToEdge, { t: Msg.Join }>);
        this.peers.set(sp.id, sp);
        this.flushEdge();
        break;
      }
      case Ev.Leave:
        this.leave(ev.sp!);
        break;
      case Ev.Wake: {
        const sp = ev.sp!;
        if (!sp.alive || sp.wake !== this.now) return;
        sp.wake = Infinity;
        sp.peer.setBacklog(Math.max(0, sp.host.freeAt - this.now));
        sp.peer.poll(this.now);
        this.flushPeer(sp);
        break;
      }
      case Ev.Deliver: {
        if (ev.to === EDGE) {
          if (!this.peers.get(ev.from)?.alive) return;
          this.edge.receive(this.now, ev.from, ev.msg as ToEdge);
          this.flushEdge();
          return;
        }
        const sp = this.peers.get(ev.to);
        if (!sp?.alive) return;
        sp.peer.receive(this.now, ev.from, ev.msg!);
        this.flushPeer(sp);
        break;
      }
    }
  }

  /** The net's host object itself (its functions may know it by identity); each joins once. */
  private givenHost(i: number): Host {
    const h = this.o.net!.hosts[i]!;
    h.freeAt = 0;
    return h;
  }

  private join(given?: Host): void {
    const host = given ?? drawHost(this.rng, this.config.bitrateKbps);
    const peer = new Peer({ config: this.config, region: host.region, isp: host.isp, uploadKbps: host.uploadKbps, reachable: host.reachable, hash: nodeHasher, seed: Math.floor(this.rng.next() * 2 ** 31), sink: this.ledger.sink() });
    peer.start(this.now);
    const sp: SimPeer = { id: 0, host, peer, alive: true, wake: Infinity };
    const join = peer.drain()[0]!.msg;
    this.controlBytes(join);
    this.heap.push(this.now + this.net.edgeRttMs(host) / 2, { e: Ev.EdgeJoin, to: EDGE, from: 0, msg: join, sp });
    this.schedule(sp);
    if (this.o.meanStay > 0 && !this.o.net) this.heap.push(this.now - Math.log(1 - this.rng.next()) * this.o.meanStay * 1000, { e: Ev.Leave, to: 0, from: 0, sp });
  }

  private leave(sp: SimPeer): void {
    if (!sp.alive) return;
    sp.alive = false;
    // Vanished: the edge sees its connection close; neighbours and children find out by silence.
    if (sp.id) this.edge.disconnect(sp.id);
    this.flushEdge();
    // Someone else comes in its place about a second later, so the audience keeps its size.
    this.heap.push(this.now - Math.log(1 - this.rng.next()) * 1000, { e: Ev.Join, to: 0, from: 0 });
  }

  private schedule(sp: SimPeer): void {
    const w = sp.peer.wakeAt;
    if (w < sp.wake) {
      sp.wake = Math.max(w, this.now);
      this.heap.push(sp.wake, { e: Ev.Wake, to: sp.id, from: 0, sp });
    }
  }

  private flushPeer(sp: SimPeer): void {
    for (const o of sp.peer.drain()) this.route(sp, o);
    this.schedule(sp);
  }

  private flushEdge(): void {
    for (const o of this.edge.drain()) {
      const sp = this.peers.get(o.to);
      if (!sp?.alive) continue;
      const m = o.msg;
      const oneWay = this.net.edgeRttMs(sp.host) / 2;
      this.controlBytes(m);
      if (m.t === Msg.Slice) {
        this.ledger.edgeSent(m.payload.length, !m.pushed);
        if (this.rng.chance(this.net.edgeLoss)) continue;
      }
      this.heap.push(this.now + oneWay, { e: Ev.Deliver, to: o.to, from: EDGE, msg: m });
    }
    if (this.edge.wakeAt < Infinity) this.heap.push(Math.max(this.now, this.edge.wakeAt), { e: Ev.EdgeWake, to: 0, from: 0 });
  }

  private route(sp: SimPeer, o: Out): void {
    const m = o.msg;
    const size = encodedSize(m);
    this.controlBytes(m);
    if (m.t === Msg.Slice && this.ledger.measuring) this.ledger.peerMediaBytes += m.payload.length;
    if (o.to === EDGE) {
      this.heap.push(this.now + this.net.edgeRttMs(sp.host) / 2, { e: Ev.Deliver, to: EDGE, from: sp.id, msg: m });
      return;
    }
    const dst = this.peers.get(o.to);
    if (!dst) return;
    const left = transmit(sp.host, this.now, size + 28);
    if (left < 0 || !canConnect(sp.host, dst.host) || this.rng.chance(this.net.lossRate(sp.host, dst.host))) return;
    let at = left + this.net.rttMs(sp.host, dst.host) / 2;
    if (this.net.setupMs) {
      const key = Math.min(sp.id, o.to) * 0x100000 + Math.max(sp.id, o.to);
      let open = this.openAt.get(key);
      if (open === undefined) this.openAt.set(key, (open = this.now + this.net.setupMs));
      at = Math.max(at, open);
    }
    this.heap.push(at, { e: Ev.Deliver, to: o.to, from: sp.id, msg: m });
  }

  /** Everything but slice payloads is control: messages, and the slices' own headers. */
  private controlBytes(m: AnyMsg): void {
    if (this.ledger.measuring) this.ledger.controlBytes += encodedSize(m) - (m.t === Msg.Slice ? m.payload.length : 0);
  }
}
