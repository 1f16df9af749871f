/** A binary min-heap of events by time; ties leave in insertion order, so runs repeat. */
export class Heap<T> {
  private t: number[] = [];
  private s: number[] = [];
  private v: T[] = [];
  private n = 0;
  private seq = 0;

  get size(): number {
    return this.n;
  }

  push(time: number, item: T): void {
    let i = this.n++;
    const seq = this.seq++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.t[p]! < time || (this.t[p] === time && this.s[p]! < seq)) break;
      this.t[i] = this.t[p]!;
      this.s[i] = this.s[p]!;
      this.v[i] = this.v[p]!;
      i = p;
    }
    this.t[i] = time;
    this.s[i] = seq;
    this.v[i] = item;
  }

  peekTime(): number {
    return this.n ? this.t[0]! : Infinity;
  }

  /** Removes the earliest item (callers check `size` first). */
  pop(): T {
    const top = this.v[0]!;
    const n = --this.n;
    const time = this.t[n]!, seq = this.s[n]!, item = this.v[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (this.t[c + 1]! < this.t[c]! || (this.t[c + 1] === this.t[c] && this.s[c + 1]! < this.s[c]!))) c++;
      if (time < this.t[c]! || (time === this.t[c] && seq < this.s[c]!)) break;
      this.t[i] = this.t[c]!;
      this.s[i] = this.s[c]!;
      this.v[i] = this.v[c]!;
      i = c;
    }
    if (n > 0) {
      this.t[i] = time;
      this.s[i] = seq;
      this.v[i] = item;
    }
    return top;
  }
}
