/**
 * Accepts each packet number once. Numbers more than WINDOW below the largest seen are
 * refused as too old (a replay cannot be told from a very late packet; both are useless).
 * Call `check` before processing and `mark` only after the packet authenticated.
 */
const WINDOW = 4096;

export class ReplayWindow {
  private largest = -1;
  private readonly bits = new Uint8Array(WINDOW);

  /** The largest packet number authenticated so far (-1 before any): truncated numbers expand around it. */
  get largestSeen(): number {
    return this.largest;
  }

  check(pn: number): boolean {
    if (pn > this.largest) return true;
    if (this.largest - pn >= WINDOW) return false;
    return this.bits[pn % WINDOW] === 0;
  }

  mark(pn: number): void {
    if (pn > this.largest) {
      const from = Math.max(this.largest + 1, pn - WINDOW + 1);
      for (let i = from; i < pn; i++) this.bits[i % WINDOW] = 0;
      this.largest = pn;
    }
    this.bits[pn % WINDOW] = 1;
  }
}
