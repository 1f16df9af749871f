import { type FecCode, checkReceived, checkSources } from './FecCode.js';

/** One parity packet, the XOR of all sources: recovers any single loss in the block. Cheapest code. */
export class XorCode implements FecCode {
  readonly name = 'xor';

  maxRepair(): number {
    return 1;
  }

  encode(sources: Uint8Array[], repairCount: number): Uint8Array[] {
    const len = checkSources(sources, repairCount, 1);
    if (repairCount === 0) return [];
    const parity = new Uint8Array(len);
    for (const s of sources) xorInto(parity, s);
    return [parity];
  }

  decode(received: Map<number, Uint8Array>, k: number, n: number): Uint8Array[] | undefined {
    if (n > k + 1) return undefined;
    const len = checkReceived(received, k, n, 256);
    if (len < 0) return undefined;
    const out: Uint8Array[] = new Array(k);
    let missing = -1;
    for (let i = 0; i < k; i++) {
      const p = received.get(i);
      if (p) out[i] = p;
      else if (missing === -1) missing = i;
      else return undefined;
    }
    if (missing === -1) return out;
    const parity = received.get(k);
    if (!parity) return undefined;
    const rebuilt = Uint8Array.from(parity);
    for (let i = 0; i < k; i++) if (i !== missing) xorInto(rebuilt, out[i]!);
    out[missing] = rebuilt;
    return out;
  }
}

/** dst ^= src, word-wise where alignment allows. */
export function xorInto(dst: Uint8Array, src: Uint8Array): void {
  const n = dst.length;
  let i = 0;
  if ((dst.byteOffset & 3) === 0 && (src.byteOffset & 3) === 0 && n >= 16) {
    const words = n >>> 2;
    const d32 = new Uint32Array(dst.buffer, dst.byteOffset, words);
    const s32 = new Uint32Array(src.buffer, src.byteOffset, words);
    for (let w = 0; w < words; w++) d32[w]! ^= s32[w]!;
    i = words << 2;
  }
  for (; i < n; i++) dst[i]! ^= src[i]!;
}
