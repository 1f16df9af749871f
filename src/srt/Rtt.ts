/** RTT smoothing as libsrt does it (RFC 6298 weights), µs. Starts at 100 ms / 50 ms. */
export class Rtt {
  rttUs = 100_000;
  varUs = 50_000;
  private sampled = false;

  sample(us: number): void {
    if (!(us >= 0) || us > 60_000_000) return;
    if (!this.sampled) {
      this.sampled = true;
      this.rttUs = us;
      this.varUs = us / 2;
      return;
    }
    this.varUs = 0.75 * this.varUs + 0.25 * Math.abs(this.rttUs - us);
    this.rttUs = 0.875 * this.rttUs + 0.125 * us;
  }

  /** The peer's estimate (an ACK's RTT fields), taken as is. */
  set(rttUs: number, varUs: number): void {
    if (!(rttUs > 0) || rttUs > 60_000_000) return;
    this.sampled = true;
    this.rttUs = rttUs;
    this.varUs = Math.min(varUs, rttUs);
  }
}
