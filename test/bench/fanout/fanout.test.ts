import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFanout, formatFanout } from '../../../src/bench/fanout/run.js';

test('bench fanout runs tributary and node-media-server with the same viewers and every viewer gets every frame', { timeout: 90_000 }, async () => {
  const results = await runFanout({ impl: 'both', viewers: 5, bitrate: 1, duration: 2, seed: 3, json: true });
  console.log(formatFanout(results));
  assert.deepEqual(results.map((r) => r.impl), ['tributary', 'nms']);
  for (const r of results) {
    assert.equal(r.viewerErrors, 0, `${r.impl}: viewer errors`);
    assert.ok(r.deliveredRatio >= 0.99, `${r.impl}: delivered ${r.deliveredRatio}`);
    assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p50 < 200, `${r.impl}: p50 ${r.latencyMs.p50} ms on loopback`);
    assert.ok(r.egressMbps > 4, `${r.impl}: 5 viewers of a 1 Mbit/s stream, egress ${r.egressMbps}`);
    assert.ok(r.serverCpuPct > 0 && r.serverRssMiB > 0);
  }
});
