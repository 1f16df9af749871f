/**
 * RTT and its variation per RFC 6298, one per path. The minimum RTO is 100 ms rather than the
 * RFC's 1 s: live media has deadlines under a second, and the loss detector's reorder rules
 * (not the RTO) recover most losses.
 */
export class RttEstimator {
  srtt = 0;
  rttVar = 0;
  latest = 0;
  minRtt = Infinity;
  private hasSample = false;

  constructor(private readonly initialRtt = 300, private readonly minRto = 100, private readonly maxRto = 10_000) {}

  get smoothed(): number {
    return this.hasSample ? this.srtt : this.initialRtt;
  }

  update(sampleMs: number, ackDelayMs = 0): void {
    if (!(sampleMs >= 0)) return;
    this.latest = sampleMs;
    if (sampleMs < this.minRtt) this.minRtt = sampleMs;
    // Remove the peer's ack delay unless that would go below the path's minimum (RFC 9002).
    const r = sampleMs - ackDelayMs >= this.minRtt ? sampleMs - ackDelayMs : sampleMs;
    if (!this.hasSample) {
      this.srtt = r;
      this.rttVar = r / 2;
      this.hasSample = true;
      return;
    }
    this.rttVar = 0.75 * this.rttVar + 0.25 * Math.abs(this.srtt - r);
    this.srtt = 0.875 * this.srtt + 0.125 * r;
  }

  /**
   * RTO = SRTT + max(4 * RTTVAR, SRTT / 4, 10 ms) + the peer's ack delay (5 ms), clamped; doubled
   * per backoff step. The SRTT / 4 floor matters on a steady link, where RTTVAR decays to a
   * millisecond or two and a packet acked 6 ms late (one delayed ACK) was declared lost.
   */
  rto(backoff = 0): number {
    const base = this.hasSample ? this.srtt + Math.max(10, 4 * this.rttVar, this.srtt / 4) + 5 : 2 * this.initialRtt;
    return Math.min(this.maxRto, Math.max(this.minRto, base) * 2 ** Math.min(backoff, 6));
  }

  get sampled(): boolean {
    return this.hasSample;
  }
}
