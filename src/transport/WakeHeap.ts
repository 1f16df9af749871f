/**
 * The endpoint's wake-up times, one per session: a binary min-heap with lazy deletion. Setting
 * a session's time pushes a new entry and makes its older ones stale (a generation number), so
 * an update is O(log n) and nothing is searched; stale entries fall out as they reach the top,
 * and the heap is rebuilt when they outnumber the live ones.
 */
interface Entry<T> {
  at: number;
  gen: number;
  item: T;
}

export class WakeHeap<T> {
  private heap: Entry<T>[] = [];
  private readonly gens = new Map<T, { gen: number; at: number }>();

  get size(): number {
    return this.gens.size;
  }

  /** The item's wake-up time (Infinity: none). */
  set(item: T, at: number): void {
    const g = this.gens.get(item);
    const gen = (g?.gen ?? 0) + 1;
    this.gens.set(item, { gen, at });
    if (at !== Infinity) this.push({ at, gen, item });
    if (this.heap.length > 64 && this.heap.length > 4 * this.gens.size) this.rebuild();
  }

  delete(item: T): void {
    this.gens.delete(item);
  }

  /** The earliest wake-up, or Infinity. */
  peek(): number {
    this.dropStale();
    return this.heap.length ? this.heap[0]!.at : Infinity;
  }

  /** Takes out the earliest item due at or before `now` (its time becomes Infinity until set again). */
  popDue(now: number): T | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (!top || top.at > now) return undefined;
    this.pop();
    const g = this.gens.get(top.item)!;
    g.gen++;
    g.at = Infinity;
    return top.item;
  }

  private live(e: Entry<T>): boolean {
    return this.gens.get(e.item)?.gen === e.gen;
  }

  private dropStale(): void {
    while (this.heap.length && !this.live(this.heap[0]!)) this.pop();
  }

  private rebuild(): void {
    const old = this.heap;
    this.heap = [];
    for (const e of old) if (this.live(e)) this.push(e);
  }

  private push(e: Entry<T>): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= e.at) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (!h.length) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= last.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
