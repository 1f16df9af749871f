import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { sha256 } from '../../src/p2p/sha256.js';

test('the browser SHA-256 agrees with node:crypto for every length around the block and padding edges, split anywhere', () => {
  for (let len = 0; len < 300; len++) {
    const data = randomBytes(len);
    const want = createHash('sha256').update(data).digest();
    const cut = Math.floor(len / 3);
    const parts = [data.subarray(0, cut), data.subarray(cut, cut + 5), data.subarray(cut + 5)];
    assert.deepEqual(Buffer.from(sha256(parts)), want, `length ${len}`);
  }
  const big = randomBytes(200_000);
  assert.deepEqual(Buffer.from(sha256([big])), createHash('sha256').update(big).digest());
});
