import type { Cursor } from './Bottleneck.js';
import { EventQueue } from './EventQueue.js';
import { type LinkConfig, type LinkStats, emptyLinkStats } from './LinkConfig.js';
import { LossModel } from './LossModel.js';
import { Prng } from './Prng.js';

/**
 * One direction of an emulated link, in whatever time the caller passes (virtual or real).
 * `send(now, size, payload)` decides the packet's fate at once; `nextTime()` says when the
 * next delivery is due and `poll(now)` hands out due deliveries one at a time.
 *
 * Order of effects: blocked/outage -> drop-tail queue -> bottleneck -> random/bursty loss ->
 * propagation + jitter (order kept) -> reordering hold-back -> duplication.
 */
export class LinkModel<T> {
  readonly stats: LinkStats = emptyLinkStats();
  private readonly rng: Prng;
  private readonly loss: LossModel;
  private readonly cursor: Cursor | undefined;
  private readonly deliveries = new EventQueue<{ payload: T; size: number }>();
  /** Departures and sizes of packets still in the bottleneck queue (FIFO, ring-free). */
  private queueDepartures: number[] = [];
  private queueSizes: number[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private lastInOrder = -Infinity;
  private blocked = false;

  constructor(
    private readonly cfg: LinkConfig,
    seed: number,
  ) {
    this.rng = new Prng(seed);
    this.loss = new LossModel(cfg.loss ?? 0, cfg.burst ?? 1, this.rng.fork());
    this.cursor = cfg.bottleneck?.newCursor();
  }

  /** Drops everything offered until unblock() (e.g. "UDP blocked"). Packets in flight still land. */
  block(): void {
    this.blocked = true;
  }

  unblock(): void {
    this.blocked = false;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Returns how many copies will be delivered (0 if dropped). */
  send(now: number, size: number, payload: T): number {
    const s = this.stats;
    s.offered++;
    s.offeredBytes += size;
    if (this.blocked) {
      s.droppedBlocked++;
      return 0;
    }
    if (this.inOutage(now)) {
      s.droppedOutage++;
      return 0;
    }
    let leave = now;
    const b = this.cfg.bottleneck;
    if (b && this.cursor) {
      this.drainQueue(now);
      const queued = this.queueDepartures.length - this.queueHead;
      if (
        (this.cfg.queueBytes !== undefined && this.queuedBytes + size > this.cfg.queueBytes) ||
        (this.cfg.queuePackets !== undefined && queued + 1 > this.cfg.queuePackets)
      ) {
        s.droppedQueue++;
        return 0;
      }
      leave = b.serve(this.cursor, now, size);
      this.queueDepartures.push(leave);
      this.queueSizes.push(size);
      this.queuedBytes += size;
      if (this.inOutage(leave)) {
        s.droppedOutage++;
        return 0;
      }
    }
    if (this.loss.lost()) {
      s.droppedLoss++;
      return 0;
    }
    let arrive = leave + (this.cfg.delayMs ?? 0);
    const jitter = this.cfg.jitterMs ?? 0;
    if (jitter > 0) arrive += Math.abs(this.rng.normal()) * jitter;
    arrive = Math.max(arrive, this.lastInOrder);
    this.lastInOrder = arrive;
    if (this.rng.chance(this.cfg.reorder ?? 0)) {
      arrive += this.cfg.reorderDelayMs ?? 10;
      s.reordered++;
    }
    const item = { payload, size };
    this.deliveries.push(arrive, item);
    if (this.rng.chance(this.cfg.duplicate ?? 0)) {
      this.deliveries.push(arrive + 1, item);
      s.duplicated++;
      return 2;
    }
    return 1;
  }

  nextTime(): number | undefined {
    return this.deliveries.peekTime();
  }

  /** The next delivery due at or before now, or undefined. */
  poll(now: number): { time: number; payload: T } | undefined {
    const d = this.deliveries.popDue(now);
    if (!d) return undefined;
    this.stats.delivered++;
    this.stats.deliveredBytes += d.item.size;
    return { time: d.time, payload: d.item.payload };
  }

  /** Bytes waiting in the bottleneck queue at `now`. */
  queueBytesAt(now: number): number {
    this.drainQueue(now);
    return this.queuedBytes;
  }

  private drainQueue(now: number): void {
    while (this.queueHead < this.queueDepartures.length && this.queueDepartures[this.queueHead]! <= now) {
      this.queuedBytes -= this.queueSizes[this.queueHead]!;
      this.queueHead++;
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queueDepartures.length) {
      this.queueDepartures = this.queueDepartures.slice(this.queueHead);
      this.queueSizes = this.queueSizes.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private inOutage(t: number): boolean {
    const o = this.cfg.outages;
    if (!o) return false;
    for (const [a, b] of o) if (t >= a && t < b) return true;
    return false;
  }
}
