/**
 * Fixed-size columns of samples on one shared time axis. The sampler takes every stream's
 * sample at the same tick, so a single ring of times serves all of them, and a stream's column
 * is indexed by the tick's global number modulo the capacity. Nothing here grows after
 * construction: a column is one Float32Array of `capacity` values, NaN where nothing was known.
 */
export class TimeAxis {
  private readonly times: Float64Array;
  /** Ticks taken since the start (the next tick's global number). */
  count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError(`capacity must be an integer >= 2, got ${capacity}`);
    this.times = new Float64Array(capacity);
  }

  /** Records a tick at `now`; returns its global number. */
  push(now: number): number {
    this.times[this.count % this.capacity] = now;
    return this.count++;
  }

  /** Global number of the oldest tick still held. */
  get oldest(): number {
    return Math.max(0, this.count - this.capacity);
  }

  time(tick: number): number {
    return this.times[tick % this.capacity]!;
  }

  /** The first held tick whose time is after `since` (count when none is). */
  firstAfter(since: number): number {
    let lo = this.oldest;
    let hi = this.count;
    // Times only rise, so a binary search over the held ticks.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.time(mid) > since) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

export class Column {
  private readonly values: Float32Array;

  constructor(capacity: number, initial = Number.NaN) {
    this.values = new Float32Array(capacity).fill(initial);
  }

  set(tick: number, v: number): void {
    this.values[tick % this.values.length] = v;
  }

  get(tick: number): number {
    return this.values[tick % this.values.length]!;
  }

  /** Values of ticks [from, to), rounded to `digits` decimals; NaN becomes null (JSON has no NaN). */
  slice(from: number, to: number, digits: number): (number | null)[] {
    const out: (number | null)[] = new Array(Math.max(0, to - from));
    const scale = 10 ** digits;
    for (let t = from; t < to; t++) {
      const v = this.get(t);
      out[t - from] = Number.isFinite(v) ? Math.round(v * scale) / scale : null;
    }
    return out;
  }
}
