/**
 * Randomness comes in as an object, never from Math.random(): tests and the virtual-time bench
 * pass a seeded generator so a run repeats exactly; real use passes CryptoRandom.
 */
import { randomBytes } from 'node:crypto';

export interface Random {
  /** Uniform integer in [0, 2^32). */
  u32(): number;
  /** n fresh random bytes. */
  bytes(n: number): Uint8Array;
}

export class CryptoRandom implements Random {
  u32(): number {
    return randomBytes(4).readUInt32BE(0);
  }
  bytes(n: number): Uint8Array {
    return new Uint8Array(randomBytes(n));
  }
}

/** xoshiro128** seeded through splitmix32. Not for keys in production; for repeatable runs. */
export class SeededRandom implements Random {
  private s = new Uint32Array(4);
  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  u32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }
  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
