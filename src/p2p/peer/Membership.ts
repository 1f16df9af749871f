/**
 * Who a peer's neighbours are: connecting to the ones the tracker suggests (Hello / Hello-ack,
 * the RTT measured on the way), gossiping the buffer map to them, timing out the silent ones,
 * survival of the fittest when the table is full, asking the tracker for more when short, and
 * banning those dropped for cause (forged, lied, flooded) so they never come back.
 */
import { MAX_BITMAP_BYTES } from '../codec.js';
import type { P2pConfig } from '../config.js';
import { EDGE, Msg } from '../messages.js';
import { Neighbour } from '../Neighbours.js';
import type { SliceBuffer } from '../SliceBuffer.js';
import type { Outbox, Self } from './Outbox.js';
import type { Bad, PeerStats } from './PeerStats.js';

export class Membership {
  readonly table = new Map<number, Neighbour>();
  /** Peers dropped for cause: never neighbours again. Bounded. */
  private readonly banned = new Set<number>();
  private lastNeedNeighbours = -1e9;

  constructor(
    private readonly c: P2pConfig,
    private readonly self: Self,
    private readonly buf: SliceBuffer,
    private readonly stats: PeerStats,
    private readonly io: Outbox,
  ) {}

  get(id: number): Neighbour | undefined {
    return this.table.get(id);
  }

  has(id: number): boolean {
    return this.table.has(id);
  }

  /** Any message from a neighbour shows it is alive. */
  heard(now: number, from: number): void {
    const nb = this.table.get(from);
    if (nb) nb.lastHeard = now;
  }

  /** Neighbours with a working connection, in table order. */
  up(): Neighbour[] {
    const list: Neighbour[] = [];
    for (const nb of this.table.values()) if (nb.up) list.push(nb);
    return list;
  }

  connect(now: number, id: number): void {
    if (id === this.self.id || id <= 0 || this.banned.has(id) || this.table.has(id) || this.table.size >= this.c.maxNeighbours) return;
    const nb = new Neighbour(id, now, this.c.requestRate, this.c.requestBurst);
    nb.pendingSince = now;
    this.table.set(id, nb);
    this.io.send(id, { t: Msg.Hello, ack: false });
  }

  onHello(now: number, from: number, ack: boolean): void {
    let nb = this.table.get(from);
    if (!ack) {
      if (!nb) {
        if (this.table.size >= this.c.maxNeighbours || !this.self.welcomed || this.banned.has(from)) {
          this.io.send(from, { t: Msg.Bye });
          return;
        }
        nb = new Neighbour(from, now, this.c.requestRate, this.c.requestBurst);
        this.table.set(from, nb);
      }
      nb.pendingSince = undefined;
      this.io.send(from, { t: Msg.Hello, ack: true });
      this.sendMap(from);
      return;
    }
    if (!nb) return;
    if (nb.pendingSince !== undefined) nb.rttMs = Math.max(1, now - nb.pendingSince);
    nb.pendingSince = undefined;
    this.sendMap(from);
  }

  onBufferMap(from: number, base: number, bits: Uint8Array): void {
    const nb = this.table.get(from);
    if (nb) nb.setMap(base, bits);
    else this.stats.unsolicited++;
  }

  /** Drops a neighbour for cause: banned, told Bye, reported to the edge. */
  ban(id: number, reason: Bad): void {
    if (this.banned.size >= 256) this.banned.delete(this.banned.values().next().value!);
    this.banned.add(id);
    this.table.delete(id);
    this.stats.droppedNeighbours++;
    this.io.send(id, { t: Msg.Bye });
    this.io.send(EDGE, { t: Msg.BadPeer, id, reason });
  }

  /** Forgets a neighbour that said Bye. */
  remove(id: number): void {
    this.table.delete(id);
  }

  gossip(): void {
    const { base, bits } = this.buf.map(MAX_BITMAP_BYTES);
    for (const nb of this.table.values()) if (nb.up) this.io.send(nb.id, { t: Msg.BufferMap, base, bits });
  }

  /**
   * Once a second: drops neighbours whose Hello went unanswered or who fell silent (`lost` is
   * called for each, at once, so what they carried is replaced in the same order as before),
   * makes room in a full table, and asks the tracker for more when short.
   */
  upkeep(now: number, lost: (id: number) => void): void {
    let up = 0;
    for (const nb of this.table.values()) {
      if ((nb.pendingSince !== undefined && now - nb.pendingSince > 3000) || now - nb.lastHeard > 3 * this.c.gossipMs + 1000) {
        this.table.delete(nb.id);
        lost(nb.id);
      } else if (nb.up) up++;
    }
    // Survival of the fittest: with a full table, the worst neighbour makes room for a new one.
    if (this.table.size >= this.c.maxNeighbours) {
      let worst: Neighbour | undefined;
      for (const nb of this.table.values()) if (nb.up && now - nb.since > 10_000 && (!worst || nb.score() < worst.score())) worst = nb;
      if (worst && worst.score() < 0.3) this.table.delete(worst.id);
    }
    if (up < this.c.targetNeighbours && now - this.lastNeedNeighbours > 5000) {
      this.lastNeedNeighbours = now;
      this.io.send(EDGE, { t: Msg.NeedNeighbours, count: Math.min(255, this.c.targetNeighbours - up) });
    }
  }

  private sendMap(to: number): void {
    const { base, bits } = this.buf.map(MAX_BITMAP_BYTES);
    this.io.send(to, { t: Msg.BufferMap, base, bits });
  }
}
