import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReedSolomonCode, FecError, gfMul, gfInv } from '../../../src/transport/fec/index.js';

/** Reference multiply by shift-and-add, independent of the tables. */
function slowMul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    b >>= 1;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
  }
  return p;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function block(k: number, len: number, rand: () => number): Uint8Array[] {
  return Array.from({ length: k }, () => Uint8Array.from({ length: len }, () => Math.floor(rand() * 256)));
}

test('table multiply matches shift-and-add for every pair; inverses invert', () => {
  for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) assert.equal(gfMul(a, b), slowMul(a, b));
  for (let a = 1; a < 256; a++) assert.equal(gfMul(a, gfInv(a)), 1);
});

test('golden vector: Cauchy repairs of a 3-packet block', () => {
  const rs = new ReedSolomonCode();
  const src = [Uint8Array.of(1, 2, 3, 4), Uint8Array.of(5, 6, 7, 8), Uint8Array.of(9, 10, 11, 255)];
  const rep = rs.encode(src, 2);
  assert.deepEqual(rep.map((p) => [...p]), [[113, 252, 135, 12], [203, 120, 226, 244]]);
  // Independent check of the definition: repair j byte = sum_i src_i * inv((3 + j) ^ i).
  for (let j = 0; j < 2; j++) {
    for (let b = 0; b < 4; b++) {
      let v = 0;
      for (let i = 0; i < 3; i++) v ^= slowMul(src[i]![b]!, gfInv((3 + j) ^ i));
      assert.equal(rep[j]![b], v);
    }
  }
});

test('every erasure pattern of k <= 6, r <= 3 with at least k packets left recovers the block', () => {
  const rs = new ReedSolomonCode();
  const rand = rng(1);
  let patterns = 0;
  for (let k = 1; k <= 6; k++) {
    for (let r = 1; r <= 3; r++) {
      const n = k + r;
      const src = block(k, 33, rand);
      const all = [...src, ...rs.encode(src, r)];
      for (let mask = 0; mask < 1 << n; mask++) {
        const got = new Map<number, Uint8Array>();
        for (let i = 0; i < n; i++) if (mask & (1 << i)) got.set(i, all[i]!);
        const out = rs.decode(got, k, n);
        if (got.size >= k) {
          assert.ok(out, `k=${k} r=${r} mask=${mask.toString(2)}`);
          out.forEach((p, i) => assert.deepEqual(p, src[i]));
          patterns++;
        } else {
          assert.equal(out, undefined);
        }
      }
    }
  }
  assert.equal(patterns, 525, "patterns with at least k packets");
});

test('random erasure patterns for larger blocks (k up to 100, r up to 30) recover', () => {
  const rs = new ReedSolomonCode();
  const rand = rng(7);
  for (let trial = 0; trial < 60; trial++) {
    const k = 1 + Math.floor(rand() * 100);
    const r = 1 + Math.floor(rand() * 30);
    const n = k + r;
    const src = block(k, 1 + Math.floor(rand() * 300), rand);
    const all = [...src, ...rs.encode(src, r)];
    const order = [...all.keys()].sort(() => rand() - 0.5);
    const keep = order.slice(0, k + Math.floor(rand() * (r + 1)));
    const got = new Map(keep.map((i) => [i, all[i]!] as [number, Uint8Array]));
    const out = rs.decode(got, k, n);
    assert.ok(out, `trial ${trial}`);
    out.forEach((p, i) => assert.deepEqual(p, src[i]));
  }
});

test('the largest block, k + r = 256, recovers with only repairs and the last sources', () => {
  const rs = new ReedSolomonCode();
  const rand = rng(3);
  const k = 200, r = 56;
  const src = block(k, 8, rand);
  const rep = rs.encode(src, r);
  const got = new Map<number, Uint8Array>();
  for (let i = 56; i < k; i++) got.set(i, src[i]!);
  rep.forEach((p, j) => got.set(k + j, p));
  const out = rs.decode(got, k, k + r);
  assert.ok(out);
  out.forEach((p, i) => assert.deepEqual(p, src[i]));
  assert.throws(() => rs.encode(src, 57), FecError);
});

test('bad input: encode throws FecError, decode returns undefined, nothing crashes', () => {
  const rs = new ReedSolomonCode();
  assert.throws(() => rs.encode([], 1), FecError);
  assert.throws(() => rs.encode([new Uint8Array(3), new Uint8Array(4)], 1), FecError);
  assert.throws(() => rs.encode([new Uint8Array(3)], -1), FecError);
  assert.throws(() => rs.encode([new Uint8Array(3)], 1.5), FecError);
  const src = [Uint8Array.of(1, 2), Uint8Array.of(3, 4), Uint8Array.of(5, 6)];
  const rep = rs.encode(src, 2);
  const m = (e: [number, Uint8Array][]) => new Map(e);
  assert.equal(rs.decode(m([[0, src[0]!], [3, rep[0]!]]), 3, 5), undefined); // too few
  assert.equal(rs.decode(m([[0, src[0]!], [1, Uint8Array.of(1)], [3, rep[0]!]]), 3, 5), undefined); // lengths
  assert.equal(rs.decode(m([[0, src[0]!], [1, src[1]!], [9, rep[0]!]]), 3, 5), undefined); // index >= n
  assert.equal(rs.decode(m([[0, src[0]!], [1, src[1]!], [-1, rep[0]!]]), 3, 5), undefined);
  assert.equal(rs.decode(m([[0, src[0]!], [1, src[1]!], [3, rep[0]!]]), 0, 5), undefined);
  assert.equal(rs.decode(m([[0, src[0]!], [1, src[1]!], [3, rep[0]!]]), 3, 2), undefined);
  assert.equal(rs.decode(m([[0, src[0]!], [1, src[1]!], [3, rep[0]!]]), 3, 300), undefined);
  assert.equal(rs.decode(m([[0, src[0]!], [1, src[1]!], [3, rep[0]!]]), 3.5, 5), undefined);
});

test('fuzz: random maps, k and n never throw out of decode', () => {
  const rs = new ReedSolomonCode();
  const rand = rng(11);
  let runs = 0;
  for (; runs < 20000; runs++) {
    const k = Math.floor(rand() * 12) - 1;
    const n = Math.floor(rand() * 16) - 1;
    const got = new Map<number, Uint8Array>();
    const count = Math.floor(rand() * 14);
    for (let i = 0; i < count; i++) {
      got.set(Math.floor(rand() * 20) - 2, Uint8Array.from({ length: 1 + Math.floor(rand() * 3) }, () => rand() * 256));
    }
    const out = rs.decode(got, k, n);
    if (out) assert.equal(out.length, k);
  }
  console.log(`fec fuzz: ${runs} random decode inputs`);
});
