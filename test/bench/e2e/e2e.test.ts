import { test } from 'node:test';
import assert from 'node:assert/strict';
import { E2E_DEFAULTS, formatE2e, runE2e } from '../../../src/bench/e2e/run.js';

test('bench e2e on a clean loopback link: both outputs get every frame, fast, with the JSON fields the issue names', { timeout: 60_000 }, async () => {
  const results = await runE2e({ ...E2E_DEFAULTS, rtt: 0, duration: 3 });
  console.log(formatE2e(results));
  assert.deepEqual(results.map((r) => r.output), ['play', 'http-flv']);
  for (const r of results) {
    assert.deepEqual(Object.keys(r).sort(), ['audio', 'latencyMs', 'maxStallEndsOnKeyframe', 'maxStallMs', 'output', 'video', 'wireKbps']);
    assert.ok(r.video.sent >= 80 && r.audio.sent >= 140, `${r.output}: ${JSON.stringify(r)}`);
    assert.ok(r.video.onTimeRatio >= 0.99 && r.audio.onTimeRatio >= 0.99, `${r.output}: ${JSON.stringify(r)}`);
    assert.ok(r.latencyMs.p50 < 200, `${r.output}: p50 ${r.latencyMs.p50}`);
    assert.ok(r.wireKbps > 1000, `wire ${r.wireKbps} for a 1.2 Mbit/s stream`);
  }
});

test('bench e2e through an emulated 200 ms RTT link: delay reflects the link', { timeout: 60_000 }, async () => {
  const [play] = await runE2e({ ...E2E_DEFAULTS, rtt: 200, duration: 3 });
  assert.ok(play!.latencyMs.p50 >= 100 && play!.latencyMs.p50 < 400, `p50 ${play!.latencyMs.p50} with 100 ms one way`);
});
