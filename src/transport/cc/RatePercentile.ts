/**
 * Quantiles of the delivery-rate samples of the last seconds (the capacity controller reads
 * their median as what an outage interrupted: a mean is dragged down by the outage's first
 * samples, a maximum is one of a trace's bursts). Samples are thinned to one per `spacingMs`
 * and at most `cap` are kept, so memory is bounded whatever the ACK rate. Time is a parameter.
 */
export class RatePercentile {
  private readonly t: number[] = [];
  private readonly v: number[] = [];
  private lastAt = -Infinity;

  constructor(private readonly windowMs: number, private readonly spacingMs = 50, private readonly cap = 256) {}

  /** A sample (finite, > 0; the caller bounds it). */
  add(now: number, bps: number): void {
    if (now - this.lastAt < this.spacingMs) return;
    this.lastAt = now;
    this.t.push(now);
    this.v.push(bps);
    if (this.v.length > this.cap) {
      this.t.shift();
      this.v.shift();
    }
  }

  clear(): void {
    this.t.length = this.v.length = 0;
  }

  /** Samples in the window now. */
  count(now: number): number {
    this.expire(now);
    return this.v.length;
  }

  /** The q-quantile (0..1) of the samples in the window, or NaN with none. */
  quantile(now: number, q: number): number {
    this.expire(now);
    if (!this.v.length) return NaN;
    const s = [...this.v].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * s.length)))]!;
  }

  private expire(now: number): void {
    while (this.t.length && this.t[0]! <= now - this.windowMs) {
      this.t.shift();
      this.v.shift();
    }
  }
}
