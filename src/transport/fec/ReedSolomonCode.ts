import { type FecCode, FecError, checkReceived, checkSources } from './FecCode.js';
import { gfInv, invert, mulAddRow } from './gf256.js';

/**
 * Systematic Reed-Solomon erasure code over GF(256) with a Cauchy generator: sources are sent
 * as they are and repair j is sum_i C[j][i] * source_i with C[j][i] = 1 / (x_j + y_i),
 * x_j = k + j, y_i = i. Every square submatrix of a Cauchy matrix is invertible, so the
 * stacked [I; C] is MDS: any k of the n = k + r packets recover the block. k + r <= 256.
 *
 * Decoding inverts the k x k matrix of the rows received; the inverse is cached per
 * (k, received-pattern) because a lossy link repeats the same few patterns.
 */
export class ReedSolomonCode implements FecCode {
  readonly name = 'rs';
  private readonly cauchy = new Map<number, Uint8Array>();
  private readonly inverses = new Map<string, Uint8Array>();

  maxRepair(k: number): number {
    return Math.max(0, 256 - k);
  }

  encode(sources: Uint8Array[], repairCount: number): Uint8Array[] {
    const k = sources.length;
    const len = checkSources(sources, repairCount, this.maxRepair(k));
    const out: Uint8Array[] = [];
    for (let j = 0; j < repairCount; j++) {
      const row = this.coefficients(k, j);
      const p = new Uint8Array(len);
      for (let i = 0; i < k; i++) mulAddRow(p, sources[i]!, row[i]!);
      out.push(p);
    }
    return out;
  }

  decode(received: Map<number, Uint8Array>, k: number, n: number): Uint8Array[] | undefined {
    const len = checkReceived(received, k, n, 256);
    if (len < 0) return undefined;
    const out: Uint8Array[] = new Array(k);
    const missing: number[] = [];
    for (let i = 0; i < k; i++) {
      const p = received.get(i);
      if (p) out[i] = p;
      else missing.push(i);
    }
    if (missing.length === 0) return out;

    // Rows used: every source present, then the first repairs to make up k.
    const rows: number[] = [];
    for (let i = 0; i < k; i++) if (out[i]) rows.push(i);
    for (let i = k; i < n && rows.length < k; i++) if (received.has(i)) rows.push(i);
    if (rows.length < k) return undefined;

    const inv = this.inverseFor(k, rows);
    if (!inv) return undefined;
    // source_m = sum_t inv[m][t] * packet(rows[t]); only the missing m are computed.
    for (const m of missing) {
      const p = new Uint8Array(len);
      for (let t = 0; t < k; t++) mulAddRow(p, received.get(rows[t]!)!, inv[m * k + t]!);
      out[m] = p;
    }
    return out;
  }

  /** Row j of the Cauchy part for k sources. */
  private coefficients(k: number, j: number): Uint8Array {
    if (k + j > 255) throw new FecError(`k + r over 256`);
    const key = (k << 8) | j;
    let row = this.cauchy.get(key);
    if (!row) {
      row = new Uint8Array(k);
      const x = k + j;
      for (let i = 0; i < k; i++) row[i] = gfInv(x ^ i);
      this.cauchy.set(key, row);
    }
    return row;
  }

  private inverseFor(k: number, rows: number[]): Uint8Array | undefined {
    const key = `${k}:${rows.join(',')}`;
    const hit = this.inverses.get(key);
    if (hit) return hit;
    const m = new Uint8Array(k * k);
    rows.forEach((r, t) => {
      if (r < k) m[t * k + r] = 1;
      else m.set(this.coefficients(k, r - k), t * k);
    });
    const inv = invert(m, k);
    if (inv) {
      if (this.inverses.size >= 4096) this.inverses.clear();
      this.inverses.set(key, inv);
    }
    return inv;
  }
}
