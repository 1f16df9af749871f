import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XorCode, FecError } from '../../../src/transport/fec/index.js';

test('golden vector: parity is the byte-wise XOR', () => {
  const x = new XorCode();
  const rep = x.encode([Uint8Array.of(1, 2, 3), Uint8Array.of(4, 8, 16), Uint8Array.of(255, 0, 7)], 1);
  assert.deepEqual([...rep[0]!], [1 ^ 4 ^ 255, 2 ^ 8 ^ 0, 3 ^ 16 ^ 7]);
  assert.deepEqual(x.encode([Uint8Array.of(1)], 0), []);
});

test('every single loss of k <= 20 recovers; two source losses do not', () => {
  const x = new XorCode();
  for (let k = 1; k <= 20; k++) {
    // lengths not a multiple of 4 and odd offsets exercise the word and byte paths
    const src = Array.from({ length: k }, (_, i) => Uint8Array.from({ length: 37 }, (_, j) => (i * 13 + j * 5) & 255));
    const all = [...src, ...x.encode(src, 1)];
    for (let lost = 0; lost <= k; lost++) {
      const got = new Map<number, Uint8Array>();
      all.forEach((p, i) => i !== lost && got.set(i, p));
      const out = x.decode(got, k, k + 1);
      assert.ok(out);
      out.forEach((p, i) => assert.deepEqual(p, src[i]));
    }
    if (k >= 2) {
      const got = new Map<number, Uint8Array>();
      all.forEach((p, i) => i > 1 && got.set(i, p));
      assert.equal(x.decode(got, k, k + 1), undefined);
    }
  }
});

test('bad input: mismatched lengths, too many repairs, bad n', () => {
  const x = new XorCode();
  assert.throws(() => x.encode([new Uint8Array(2), new Uint8Array(3)], 1), FecError);
  assert.throws(() => x.encode([new Uint8Array(2)], 2), FecError);
  const a = Uint8Array.of(1, 2), b = Uint8Array.of(3, 4);
  assert.equal(x.decode(new Map([[0, a], [2, b]]), 2, 4), undefined);
  assert.equal(x.decode(new Map([[0, a], [2, Uint8Array.of(1)]]), 2, 3), undefined);
  assert.equal(x.decode(new Map([[0, a]]), 2, 3), undefined);
});
