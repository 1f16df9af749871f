/**
 * Puts RTP packets back in sequence order, waiting a little for a missing one (the NACK the
 * stack sent may bring it back) before giving it up as lost. Sans-IO: `now` in, packets out;
 * the caller calls `poll(now)` at `nextWake()`.
 *
 * Memory is bounded: at most `capacity` packets wait; beyond that the oldest gap is given up
 * at once. A packet far outside the window (a lying or restarted sender) resets the buffer
 * instead of being held.
 */
export type Released<T> = { item: T; lostBefore: number };

export interface ReorderOptions {
  /** How long a gap is waited for, ms: a NACK round trip plus the sender's reaction. */
  maxWaitMs: number;
  /** Packets held at most. */
  capacity: number;
}

export const DEFAULT_REORDER: ReorderOptions = { maxWaitMs: 120, capacity: 512 };

export class ReorderBuffer<T> {
  private readonly held = new Map<number, T>();
  /** Extended (32-bit and beyond) sequence number expected next; undefined before the first packet. */
  private next: number | undefined;
  private highest = 0;
  private gapSince: number | undefined;
  /** Packets lost (never came within maxWaitMs), duplicates or late ones dropped. */
  lost = 0;
  late = 0;
  resets = 0;

  constructor(private readonly opts: ReorderOptions = DEFAULT_REORDER) {}

  /** Takes one packet (16-bit sequence number); returns what is now in order. */
  push(seq16: number, item: T, now: number): Released<T>[] {
    const seq = this.extend(seq16);
    const out: Released<T>[] = [];
    if (this.next === undefined) this.next = seq;
    if (seq < this.next) {
      this.late++;
      return out;
    }
    if (seq - this.next > 4 * this.opts.capacity) {
      // Far ahead: the sender restarted its numbering, or lies. Start over from here.
      this.resets++;
      this.held.clear();
      this.gapSince = undefined;
      out.push(...this.release(seq, 0, item));
      return out;
    }
    if (this.held.has(seq)) {
      this.late++;
      return out;
    }
    this.held.set(seq, item);
    this.drain(out, 0, now);
    if (this.held.size > this.opts.capacity) this.skipGap(out);
    if (this.held.size > 0) this.gapSince ??= now;
    return out;
  }

  /** Gives up gaps waited for longer than maxWaitMs. */
  poll(now: number): Released<T>[] {
    const out: Released<T>[] = [];
    while (this.gapSince !== undefined && now - this.gapSince >= this.opts.maxWaitMs && this.held.size > 0) {
      this.skipGap(out);
      this.gapSince = this.held.size > 0 ? now : undefined;
    }
    return out;
  }

  /** When poll() has something to do, or undefined. */
  nextWake(): number | undefined {
    return this.gapSince === undefined ? undefined : this.gapSince + this.opts.maxWaitMs;
  }

  private extend(seq16: number): number {
    if (this.next === undefined) {
      this.highest = seq16 + 65536; // room below for reordered early packets
      return this.highest;
    }
    let seq = (this.highest & ~0xffff) | seq16;
    if (seq - this.highest > 32768) seq -= 65536;
    else if (this.highest - seq > 32768) seq += 65536;
    if (seq > this.highest) this.highest = seq;
    return seq;
  }

  private release(seq: number, lostBefore: number, item: T): Released<T>[] {
    this.next = seq + 1;
    return [{ item, lostBefore }];
  }

  private drain(out: Released<T>[], lostBefore: number, now?: number): void {
    let lost = lostBefore;
    let moved = false;
    for (;;) {
      const item = this.held.get(this.next!);
      if (item === undefined) break;
      this.held.delete(this.next!);
      out.push({ item, lostBefore: lost });
      lost = 0;
      moved = true;
      this.next!++;
    }
    if (this.held.size === 0) this.gapSince = undefined;
    // The gap now waited for is a later one: it gets its own full wait.
    else if (moved && now !== undefined) this.gapSince = now;
  }

  private skipGap(out: Released<T>[]): void {
    let min = Infinity;
    for (const k of this.held.keys()) if (k < min) min = k;
    const lost = min - this.next!;
    this.lost += lost;
    this.next = min;
    this.drain(out, lost);
  }
}
