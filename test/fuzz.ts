/** Shared pieces of the fuzz tests: a seeded generator (a failure can be replayed) and byte joins. */

/** xorshift32: uniform numbers in [0, 1), the same sequence for the same seed. */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
/**
 * One mutation of a valid input, the kinds a hostile peer or a broken file produce: bit flips,
 * random bytes, truncation, a 16/32-bit field rewritten as a lie, a range repeated, random junk.
 * Writes into `out` (at least 2x the seed) and returns the mutated length.
 */
export function mutate(seed: Uint8Array, out: Uint8Array, rnd: () => number): number {
  let len = seed.length;
  out.set(seed);
  const at = () => (rnd() * len) | 0;
  switch ((rnd() * 6) | 0) {
    case 0:
      for (let k = 1 + ((rnd() * 4) | 0); k > 0; k--) out[at()]! ^= 1 << ((rnd() * 8) | 0);
      break;
    case 1:
      for (let k = 1 + ((rnd() * 8) | 0); k > 0; k--) out[at()] = (rnd() * 256) | 0;
      break;
    case 2:
      len = at();
      break;
    case 3: {
      // a length field lying: 0, all ones, or random
      const p = Math.min(at(), len - 4);
      const v = [0, 0xffffffff, (rnd() * 2 ** 32) >>> 0][(rnd() * 3) | 0]!;
      new DataView(out.buffer, out.byteOffset).setUint32(p, v);
      break;
    }
    case 4: {
      // a range repeated (spliced), bounded by the buffer
      const from = at();
      const n = Math.min((rnd() * 200) | 0, len - from, out.length - len);
      out.copyWithin(from + n, from, len);
      len += n;
      break;
    }
    default:
      len = 1 + ((rnd() * Math.min(out.length, 600)) | 0);
      for (let i = 0; i < len; i++) out[i] = (rnd() * 256) | 0;
  }
  return len;
}
