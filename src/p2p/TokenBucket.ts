/** A token bucket in caller time: `rate` tokens a second, at most `burst` saved. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(readonly rate: number, readonly burst: number, now: number) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes `n` tokens if there are that many; false (and nothing taken) otherwise. */
  take(now: number, n = 1): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
      this.at = now;
    }
  }
}
