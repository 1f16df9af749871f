/**
 * xorshift32: the small seeded generator behind the tracker's and the scheduler's random picks,
 * so a virtual-time run repeats exactly. Not transport's SeededRandom: p2p sits in transport's
 * layer (scripts/layers.mjs) and may not import it, and another algorithm would change every
 * p2p bench figure.
 */
export class XorShift {
  private s: number;

  /** A zero seed is taken as 1: xorshift never leaves 0. */
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.s ^= this.s << 13;
    this.s ^= this.s >>> 17;
    this.s ^= this.s << 5;
    return (this.s >>> 0) / 4294967296;
  }
}
