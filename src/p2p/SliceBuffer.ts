/**
 * The slices a peer knows of, in a ring indexed by seq: what the edge announced (info),
 * whether and when the bytes arrived, and where the missing ones are in the three stages
 * (waiting for the push, pulling from neighbours, compensation from the edge).
 */
import type { SliceInfo } from './messages.js';

export const enum Stage {
  Push = 0,
  Pull = 1,
  Compensate = 2,
  Have = 3,
}

export class Entry {
  info: SliceInfo | undefined;
  payload: Uint8Array | undefined;
  captureMs = 0;
  key = false;
  arrivedAt = -1;
  from = -1;
  stage = Stage.Push;
  tries = 0;
  /** Push deadline in the push stage; the outstanding request's timeout in the others (0: none). */
  dueAt = 0;
  asked = -1;
  askedAt = 0;
  forwarded = false;
  constructor(readonly seq: number) {}
}

export const RING = 1024;

export class SliceBuffer {
  private ring: Array<Entry | undefined> = new Array(RING);
  /** Oldest seq still kept, and one past the newest seq known. */
  tail = 0;
  head = 0;

  get(seq: number): Entry | undefined {
    const e = this.ring[seq & (RING - 1)];
    return e !== undefined && e.seq === seq ? e : undefined;
  }

  /** True when `seq` fits the window the ring can hold without overwriting kept slices. */
  fits(seq: number): boolean {
    return seq >= this.tail && seq < this.tail + RING - 64;
  }

  /** The entry for seq, created if new (callers check `fits` first). */
  ensure(seq: number): Entry {
    let e = this.get(seq);
    if (!e) {
      e = new Entry(seq);
      this.ring[seq & (RING - 1)] = e;
      if (seq >= this.head) this.head = seq + 1;
    }
    return e;
  }

  /** Starts the window at `seq` (a joiner's first keyframe). */
  reset(seq: number): void {
    this.ring = new Array(RING);
    this.tail = seq;
    this.head = seq;
  }

  /** Drops slices below `seq`. */
  evictBelow(seq: number): void {
    while (this.tail < seq && this.tail < this.head) {
      const i = this.tail & (RING - 1);
      if (this.ring[i]?.seq === this.tail) this.ring[i] = undefined;
      this.tail++;
    }
  }

  /** Which of [tail, newest held] are held, as a buffer map of at most maxBytes. */
  map(maxBytes: number): { base: number; bits: Uint8Array } {
    let last = this.head - 1;
    while (last >= this.tail && !this.get(last)?.payload) last--;
    const base = Math.max(this.tail, last + 1 - maxBytes * 8);
    const n = last - base + 1;
    const bits = new Uint8Array(Math.max(0, Math.ceil(n / 8)));
    for (let s = base; s <= last; s++) if (this.get(s)?.payload) bits[(s - base) >> 3]! |= 1 << ((s - base) & 7);
    return { base, bits };
  }
}
