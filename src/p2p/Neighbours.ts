/**
 * A peer's neighbour table: what each neighbour's last buffer map claims, its RTT, and its
 * score (hit rate of requests, lies, floods, how long it has been here). Survival of the
 * fittest: when the table is full the worst goes first; a neighbour that sends a forged slice
 * or keeps claiming slices it does not have is dropped at once.
 */
import { TokenBucket } from './TokenBucket.js';

export class Neighbour {
  rttMs = 150;
  /** Last buffer map: bit i = base + i. */
  mapBase = 0;
  mapBits: Uint8Array = new Uint8Array(0);
  /** The map's end (base + bits), and how full it was: a complete map means "probably has the newer ones too". */
  mapEnd = 0;
  mapFull = 0;
  hits = 1;
  misses = 0;
  lies = 0;
  floods = 0;
  inflight = 0;
  lastHeard: number;
  /** Hello sent, no answer yet (a connection being set up). */
  pendingSince: number | undefined;
  readonly requests: TokenBucket;

  constructor(readonly id: number, readonly since: number, requestRate: number, requestBurst: number) {
    this.lastHeard = since;
    this.requests = new TokenBucket(requestRate, requestBurst, since);
  }

  get up(): boolean {
    return this.pendingSince === undefined;
  }

  /** Does its last map claim `seq`? */
  claims(seq: number): boolean {
    const i = seq - this.mapBase;
    if (i < 0 || i >= this.mapBits.length * 8) return false;
    return (this.mapBits[i >> 3]! & (1 << (i & 7))) !== 0;
  }

  /** Claims it, or is past its map and its map was nearly complete (its pushes work). */
  likelyHas(seq: number): boolean {
    return this.claims(seq) || (seq >= this.mapEnd && this.mapFull >= 0.9);
  }

  /** Higher is better: hit rate first, then nearness. */
  score(): number {
    const hitRate = this.hits / (this.hits + this.misses);
    return hitRate / (1 + this.rttMs / 200) - 0.2 * this.lies;
  }

  setMap(base: number, bits: Uint8Array): void {
    this.mapBase = base;
    this.mapBits = bits;
    this.mapEnd = base + bits.length * 8;
    let ones = 0;
    for (const b of bits) ones += POPCOUNT[b]!;
    // The map runs to the byte boundary past the sender's newest slice: count only up to that.
    let last = bits.length * 8 - 1;
    while (last >= 0 && (bits[last >> 3]! & (1 << (last & 7))) === 0) last--;
    this.mapEnd = base + last + 1;
    this.mapFull = last >= 0 ? ones / (last + 1) : 0;
  }
}

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let v = i; v; v >>= 1) n += v & 1;
  return n;
});
