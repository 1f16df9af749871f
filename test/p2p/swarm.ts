/**
 * A small swarm for the core's tests: the real Edge and Peers, messages moved in virtual time
 * with a fixed one-way delay, and a hook to drop or rewrite any message (the hostile cases).
 */
import { Heap } from '../../src/bench/p2p/Heap.js';
import { nodeHasher } from '../../src/bench/p2p/Simulator.js';
import { DEFAULT_CONFIG, type P2pConfig } from '../../src/p2p/config.js';
import { Edge } from '../../src/p2p/Edge.js';
import { EDGE, Msg, type AnyMsg, type ToEdge } from '../../src/p2p/messages.js';
import { Peer, type PeerOptions } from '../../src/p2p/Peer.js';

export type Filter = (from: number, to: number, msg: AnyMsg) => AnyMsg | null;

export class Swarm {
  readonly c: P2pConfig;
  readonly edge: Edge;
  readonly peers = new Map<number, Peer>();
  /** Every message sent, for tests that check the order of things. */
  readonly log: Array<{ at: number; from: number; to: number; msg: AnyMsg }> = [];
  filter: Filter = (_f, _t, m) => m;
  /** Extra one-way delay for a message, ms (a slow path or a long upload queue). */
  delay: (from: number, to: number, msg: AnyMsg) => number = () => 0;
  now = 0;
  oneWayMs = 20;
  private heap = new Heap<() => void>();
  private frame = 0;
  private dead = new Set<number>();

  constructor(config: Partial<P2pConfig> = {}) {
    this.c = { ...DEFAULT_CONFIG, ...config };
    this.edge = new Edge(this.c, nodeHasher);
    this.heap.push(0, () => this.publish());
  }

  /** A peer joins now; returns it once the edge has given it an id (after half an RTT). */
  join(o: Partial<PeerOptions> = {}): Peer {
    const peer = new Peer({ config: this.c, region: 0, isp: 0, uploadKbps: 3 * this.c.bitrateKbps, reachable: true, hash: nodeHasher, seed: this.peers.size + 1, ...o });
    peer.start(this.now);
    const join = peer.drain()[0]!.msg as Extract<ToEdge, { t: Msg.Join }>;
    const id = this.edge.join(this.now, join);
    this.peers.set(id, peer);
    this.flushEdge();
    this.wake(peer, id);
    return peer;
  }

  /**
   * A peer the test plays by hand (a hostile one): the edge knows it, and whatever is sent to it
   * goes to `onMessage` instead of a core.
   */
  manual(onMessage: (from: number, msg: AnyMsg) => void = () => {}): number {
    const id = this.edge.join(this.now, { t: Msg.Join, region: 0, isp: 0, uploadKbps: 100, reachable: true, nominate: false });
    this.handlers.set(id, onMessage);
    this.flushEdge();
    return id;
  }

  private handlers = new Map<number, (from: number, msg: AnyMsg) => void>();

  /** Vanishes without a word (the edge sees the connection close). */
  kill(id: number): void {
    this.dead.add(id);
    this.edge.disconnect(id);
    this.flushEdge();
  }

  idOf(p: Peer): number {
    for (const [id, q] of this.peers) if (q === p) return id;
    return -1;
  }

  /** Sends a message as if `from` had (a hostile peer the test plays by hand). */
  inject(from: number, to: number, msg: AnyMsg): void {
    this.deliver(from, to, msg);
  }

  runUntil(t: number): void {
    while (this.heap.size && this.heap.peekTime() <= t) {
      this.now = this.heap.peekTime();
      this.heap.pop()();
    }
    this.now = t;
  }

  /** Every byte of slice `seq`'s payload is `seq & 0xff`, so a test can tell a forged copy. */
  private publish(): void {
    const unit = (this.c.bitrateKbps * 125) / (this.c.fps + 3);
    const key = this.frame % this.c.fps === 0;
    const payload = new Uint8Array(Math.round(key ? 4 * unit : unit)).fill(this.frame & 0xff);
    this.edge.publish(this.now, payload, key);
    this.frame++;
    this.flushEdge();
    this.heap.push(this.frame * (1000 / this.c.fps), () => this.publish());
  }

  private flushEdge(): void {
    for (const o of this.edge.drain()) this.deliver(EDGE, o.to, o.msg);
    if (this.edge.wakeAt < Infinity) this.heap.push(Math.max(this.now, this.edge.wakeAt), () => { this.edge.poll(this.now); this.flushEdge(); });
  }

  private deliver(from: number, to: number, msg: AnyMsg): void {
    this.log.push({ at: this.now, from, to, msg });
    const m = this.filter(from, to, msg);
    if (!m) return;
    this.heap.push(this.now + this.oneWayMs + this.delay(from, to, m), () => {
      if (this.dead.has(to) || this.dead.has(from)) return;
      if (to === EDGE) {
        this.edge.receive(this.now, from, m as ToEdge);
        this.flushEdge();
        return;
      }
      const h = this.handlers.get(to);
      if (h) return h(from, m);
      const p = this.peers.get(to);
      if (!p) return;
      p.receive(this.now, from, m);
      this.flush(p, to);
    });
  }

  private flush(p: Peer, id: number): void {
    for (const o of p.drain()) this.deliver(id, o.to, o.msg);
    this.wake(p, id);
  }

  private wakes = new Map<number, number>();

  private wake(p: Peer, id: number): void {
    const at = Math.max(this.now, p.wakeAt);
    const pending = this.wakes.get(id);
    if (pending !== undefined && pending <= at) return;
    this.wakes.set(id, at);
    this.heap.push(at, () => {
      if (this.wakes.get(id) !== at || this.dead.has(id)) return;
      this.wakes.delete(id);
      p.poll(this.now);
      this.flush(p, id);
    });
  }
}
