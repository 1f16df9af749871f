/**
 * Bytes counted over time in fixed buckets (5 ms, about five seconds kept), so the bytes sent
 * or acknowledged over any recent interval can be read back: bounded memory whatever the
 * packet rate, and an interval older than the history reads as empty, never as garbage.
 * Time is a parameter and must not go backwards (the caller makes it monotonic).
 */
const BUCKET_MS = 5;
const BUCKETS = 1024;

export class RateHistory {
  /** Cumulative bytes at the end of each bucket, in a ring indexed by bucket number. */
  private readonly cum = new Float64Array(BUCKETS);
  private total = 0;
  private newest = -1;

  add(now: number, bytes: number): void {
    this.advance(Math.floor(now / BUCKET_MS));
    this.total += bytes;
    this.cum[this.newest % BUCKETS] = this.total;
  }

  private advance(b: number): void {
    if (this.newest < 0) this.newest = b - 1;
    if (b <= this.newest) return;
    // Buckets with nothing in them carry the running total forward (at most one ring's worth).
    for (let k = Math.max(this.newest + 1, b - BUCKETS + 1); k <= b; k++) this.cum[k % BUCKETS] = this.total;
    this.newest = b;
  }

  /** Cumulative bytes up to the end of the bucket holding time t (0 before the history). */
  private at(t: number): number {
    const b = Math.floor(t / BUCKET_MS);
    if (this.newest < 0 || b < this.newest - BUCKETS + 1) return NaN;
    if (b >= this.newest) return this.total;
    return this.cum[((b % BUCKETS) + BUCKETS) % BUCKETS]!;
  }

  /** Bytes counted in (from, to]; NaN when `from` is older than the history kept. */
  between(from: number, to: number): number {
    const a = this.at(from);
    const b = this.at(to);
    return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(0, b - a);
  }
}
