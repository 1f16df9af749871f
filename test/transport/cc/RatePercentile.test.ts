import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RatePercentile } from '../../../src/transport/cc/RatePercentile.js';

test('quantiles of the samples in the window; older ones expire', () => {
  const r = new RatePercentile(1000, 0);
  for (let i = 1; i <= 10; i++) r.add(i * 10, i * 100);
  assert.equal(r.count(100), 10);
  assert.equal(r.quantile(100, 0.5), 600);
  assert.equal(r.quantile(100, 0), 100);
  assert.equal(r.quantile(100, 1), 1000);
  // At 1050 the samples at or before 50 ms are out of the window.
  assert.equal(r.count(1050), 5);
  assert.equal(r.quantile(1050, 0), 600);
  assert.ok(Number.isNaN(r.quantile(5000, 0.5)));
  r.add(5000, 7);
  r.clear();
  assert.equal(r.count(5000), 0);
});

test('a flood of samples keeps memory bounded and thinned', () => {
  const r = new RatePercentile(10_000, 50, 256);
  for (let t = 0; t < 10_000; t += 0.1) r.add(t, 1 + (t % 7));
  // One per 50 ms over 10 s is 200, under the cap; never more than the cap.
  assert.ok(r.count(9999) <= 256 && r.count(9999) >= 190, `kept ${r.count(9999)}`);
  const capped = new RatePercentile(1e9, 0, 64);
  for (let i = 0; i < 10_000; i++) capped.add(i, i);
  assert.equal(capped.count(10_000), 64);
  assert.equal(capped.quantile(10_000, 0), 10_000 - 64);
});
