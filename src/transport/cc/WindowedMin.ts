/**
 * Minimum of timed samples over a sliding window (a monotonic deque), with bounded memory: at
 * most `cap` entries are kept, the oldest dropped first, so a flood of samples costs nothing
 * more than a window of them. Time is a parameter.
 */
export class WindowedMin {
  private readonly t: number[] = [];
  private readonly v: number[] = [];

  constructor(private windowMs: number, private readonly cap = 256) {}

  setWindow(ms: number): void {
    this.windowMs = ms;
  }

  add(now: number, value: number): void {
    // Later samples that are no larger make earlier larger ones irrelevant.
    while (this.v.length && this.v[this.v.length - 1]! >= value) {
      this.v.pop();
      this.t.pop();
    }
    this.v.push(value);
    this.t.push(now);
    if (this.v.length > this.cap) {
      this.v.shift();
      this.t.shift();
    }
  }

  /** The minimum over (now - window, now], or Infinity with no sample in it. */
  get(now: number): number {
    while (this.t.length && this.t[0]! <= now - this.windowMs) {
      this.t.shift();
      this.v.shift();
    }
    return this.v.length ? this.v[0]! : Infinity;
  }
}
