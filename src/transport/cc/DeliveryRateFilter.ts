/**
 * What a path delivers, from delivery-rate samples, for a link whose capacity moves by 2x within
 * a second (a cellular uplink). Two kinds of sample:
 * - busy: the bottleneck had a queue while the sample was taken (or dropped a large share of
 *   what was sent), so what it delivered is what it could deliver. These set the estimate: an
 *   exponentially weighted mean with a time constant of a few hundred ms (Sprout-EWMA's choice:
 *   a max filter, BBR's, reads every short burst of a trace as the capacity and fills the
 *   buffer behind it), plus its variance, from which `forecast` gives a cautious figure of what
 *   the next interval will deliver.
 * - floor: nothing was queued, so the link carried all that was offered and could have carried
 *   more. A floor above the estimate raises it; a floor below says nothing.
 * Time is a parameter; samples must already be bounded by the caller (finite, > 0).
 */
export class DeliveryRateFilter {
  private mean = 0;
  private variance = 0;
  private lastAt = -Infinity;
  /** Time of the newest busy sample. */
  busyAt = -Infinity;

  constructor(private readonly tauMs: number) {}

  get known(): boolean {
    return this.mean > 0;
  }

  /** Mean delivery rate, bit/s (0 before any sample). */
  get rate(): number {
    return this.mean;
  }

  /** Standard deviation of the busy samples around the mean, bit/s. */
  get deviation(): number {
    return Math.sqrt(this.variance);
  }

  addBusy(now: number, bps: number): void {
    if (!this.known) {
      this.mean = bps;
      this.variance = (bps / 4) ** 2;
    } else {
      // Weight by the time the sample stands for, so the estimate moves at the same pace
      // whatever the ACK frequency (a sample every 5 ms and one every 100 ms mean the same).
      const dt = Math.min(this.tauMs, Math.max(0, now - this.lastAt));
      const a = 1 - Math.exp(-dt / this.tauMs);
      const d = bps - this.mean;
      this.mean += a * d;
      this.variance = (1 - a) * (this.variance + a * d * d);
    }
    this.lastAt = this.busyAt = now;
  }

  addFloor(now: number, bps: number): void {
    if (bps <= this.mean) return;
    if (!this.known) {
      this.variance = (bps / 4) ** 2;
      this.mean = bps;
      this.lastAt = now;
      return;
    }
    // Weighted as a busy sample: a floor is a short span's delivery too, and a trace's bursts
    // deliver 2-3x its mean for 100-200 ms. Taken whole, each burst set the estimate (ATT-2016:
    // 2.0 Mbit/s on a 1.45 Mbit/s stretch) and the window built 200 ms of queue on top of it.
    const dt = Math.min(this.tauMs, Math.max(0, now - this.lastAt));
    this.mean += (1 - Math.exp(-dt / this.tauMs)) * (bps - this.mean);
    this.lastAt = now;
  }

  /**
   * What the path is expected to deliver with the given confidence: the mean less `z`
   * deviations, but at least a quarter of the mean (a variance inflated by one outage must not
   * take the forecast to zero).
   */
  forecast(z: number): number {
    return Math.max(this.mean / 4, this.mean - z * this.deviation);
  }

  /** Starts again from `bps` (after an outage, from the capacity before it). */
  reset(now: number, bps: number): void {
    this.mean = bps;
    this.variance = (bps / 4) ** 2;
    this.lastAt = now;
  }

  /** Scales the estimate (a loss-only correction or a reset after an outage). */
  scale(f: number): void {
    this.mean *= f;
    this.variance *= f * f;
  }
}
