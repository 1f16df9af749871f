/**
 * Token bucket at the pacing rate. The bucket holds at most `burstMs` of sending (at least two
 * full packets), so a keyframe leaves as a short train rather than one line-rate burst.
 */
export class Pacer {
  private tokens: number;
  private last = 0;
  constructor(private rateBps: number, private readonly burstMs = 5, private mtu = 1200) {
    this.tokens = this.capacity();
  }

  private capacity(): number {
    return Math.max(2 * this.mtu, (this.rateBps / 8) * (this.burstMs / 1000));
  }

  setRate(now: number, rateBps: number, mtu: number): void {
    this.refill(now);
    this.rateBps = Math.max(8000, rateBps);
    this.mtu = mtu;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity(), this.tokens + ((now - this.last) * this.rateBps) / 8000);
      this.last = now;
    }
  }

  canSend(now: number, bytes: number): boolean {
    this.refill(now);
    return this.tokens >= bytes;
  }

  onSent(now: number, bytes: number): void {
    this.refill(now);
    this.tokens -= bytes;
  }

  /** When `bytes` will be affordable. */
  nextSendTime(now: number, bytes: number): number {
    this.refill(now);
    if (this.tokens >= bytes) return now;
    return now + ((bytes - this.tokens) * 8000) / this.rateBps + 0.001;
  }
}
