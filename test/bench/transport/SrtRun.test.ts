import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchSrt } from '../../../src/bench/transport/run.js';
import { DEFAULTS } from '../../../src/bench/transport/Options.js';

// Fairness check of the comparison: with SRT's latency set to deadline - one-way - margin,
// a loss-free link delivers every frame on time. Needs srt-live-transmit (srt-tools); fails if missing.
test('SRT on a loss-free link delivers every frame on time', async () => {
  const run = () => benchSrt({ ...DEFAULTS, impl: 'srt', rate: 4, rtt: 300, loss: 0, bitrate: 1.2, latency: 600, duration: 6, real: true });
  let r = await run();
  console.log(JSON.stringify(r));
  // Real time on 2 cores: when the runner puts this file next to a Chromium test, one frame can
  // miss SRT's 40 ms margin by scheduling alone (CI saw 0.95 once). A second run must then be
  // perfect: a configuration unfair to SRT would fail both.
  if (r.video.onTimeRatio < 1 || r.audio.onTimeRatio < 1) {
    r = await run();
    console.log(`second run: ${JSON.stringify(r)}`);
  }
  assert.equal(r.audio.onTimeRatio, 1);
  assert.equal(r.video.onTimeRatio, 1);
  assert.ok(r.latencyMs.max <= 600);
  assert.ok(r.overhead > 0 && r.overhead < 0.1);
});
