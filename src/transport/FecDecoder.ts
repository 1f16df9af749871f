/**
 * The receiving half of FEC: keeps the source frames and repair symbols of recent groups and,
 * once a group holds k symbols with a source missing, recovers the missing DATA frames'
 * encodings. Bounded: at most MAX_GROUPS groups (oldest evicted) and MAX_BYTES in all.
 */
import { FEC_CODE_XOR, type FecRepairFrame } from '../wire/fecRepair.js';
import { rsCode, xorCode } from './FecEncoder.js';

const MAX_GROUPS = 128;
const MAX_BYTES = 2 * 1024 * 1024;

interface Group {
  sources: Map<number, Uint8Array>;
  repairs: Map<number, Uint8Array>;
  k: number;
  n: number;
  code: number;
  symLen: number;
  done: boolean;
  bytes: number;
}

export class FecDecoder {
  private groups = new Map<number, Group>();
  private bytes = 0;
  recovered = 0;

  private group(id: number): Group {
    let g = this.groups.get(id);
    if (!g) {
      while (this.groups.size >= MAX_GROUPS || (this.bytes > MAX_BYTES && this.groups.size > 0)) this.evictOldest();
      g = { sources: new Map(), repairs: new Map(), k: 0, n: 0, code: 0, symLen: 0, done: false, bytes: 0 };
      this.groups.set(id, g);
    }
    return g;
  }

  private evictOldest(): void {
    const [id, g] = this.groups.entries().next().value as [number, Group];
    this.bytes -= g.bytes;
    this.groups.delete(id);
  }

  /** A source DATA frame arrived; `encoded` is its whole encoding (copied). */
  onSource(group: number, index: number, encoded: Uint8Array): Uint8Array[] {
    const g = this.group(group);
    if (g.done || g.sources.has(index) || (g.k && index >= g.k)) return [];
    g.sources.set(index, encoded.slice());
    g.bytes += encoded.length;
    this.bytes += encoded.length;
    return this.tryDecode(g);
  }

  onRepair(f: FecRepairFrame): Uint8Array[] {
    const g = this.group(f.group);
    if (g.done) return [];
    if (g.k === 0) {
      g.k = f.k;
      g.n = f.n;
      g.code = f.code;
      g.symLen = f.symbol.length;
    } else if (g.k !== f.k || g.n !== f.n || g.code !== f.code || g.symLen !== f.symbol.length) return [];
    if (g.repairs.has(f.index)) return [];
    g.repairs.set(f.index, f.symbol.slice());
    g.bytes += f.symbol.length;
    this.bytes += f.symbol.length;
    return this.tryDecode(g);
  }

  private tryDecode(g: Group): Uint8Array[] {
    if (g.k === 0) return [];
    let have = 0;
    for (const i of g.sources.keys()) if (i < g.k) have++;
    if (have >= g.k) {
      g.done = true;
      return [];
    }
    if (have + g.repairs.size < g.k) return [];
    const received = new Map<number, Uint8Array>();
    for (const [i, s] of g.sources) {
      if (i >= g.k || s.length + 2 > g.symLen) continue;
      const p = new Uint8Array(g.symLen);
      p[0] = s.length >>> 8;
      p[1] = s.length & 0xff;
      p.set(s, 2);
      received.set(i, p);
    }
    for (const [i, s] of g.repairs) received.set(i, s);
    const code = g.code === FEC_CODE_XOR ? xorCode : rsCode;
    const out = code.decode(received, g.k, g.n);
    g.done = true;
    if (!out) return [];
    const frames: Uint8Array[] = [];
    for (let i = 0; i < g.k; i++) {
      if (g.sources.has(i)) continue;
      const sym = out[i]!;
      const len = (sym[0]! << 8) | sym[1]!;
      if (len + 2 > sym.length) continue;
      frames.push(sym.subarray(2, 2 + len));
      this.recovered++;
    }
    return frames;
  }
}
