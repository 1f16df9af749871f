/**
 * One cellular link that delivers nothing for 4 s and then comes back at its old rate, as the
 * ATT/Verizon traces do several times a minute: the real session in virtual time over a
 * trace-driven bottleneck (packets sent in the outage wait in its queue, as on a real link).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceBottleneck } from '../../../src/emulator/Bottleneck.js';
import { parseTrace } from '../../../src/emulator/Trace.js';
import { runVirtual } from '../../../src/bench/transport/VirtualRun.js';
import { tributaryPeers } from '../../../src/bench/transport/tributaryPeers.js';
import { judge } from '../../../src/bench/transport/Judge.js';
import type { CcName } from '../../../src/transport/cc/select.js';

const RATE_BPS = 2_000_000;
const OUT_FROM = 15_000;
const OUT_TO = 19_000;

/** A Mahimahi trace of 2 Mbit/s (one 1500-byte opportunity every 6 ms) with an outage. */
function outageTrace(): TraceBottleneck {
  const lines: number[] = [];
  for (let t = 6; t <= 40_000; t += 6) if (t < OUT_FROM || t >= OUT_TO) lines.push(t);
  return new TraceBottleneck(parseTrace('outage', lines.join('\n')));
}

function run(cc: CcName) {
  const bottleneck = outageTrace();
  const base = { delayMs: 150, jitterMs: 0, loss: 0.01, burst: 1 };
  const targets: Array<[number, number]> = [];
  const peers = tributaryPeers(0, 1, 'link0', 'all', 'single', undefined, cc);
  const r = runVirtual({
    peers,
    links: [{ up: { ...base, bottleneck, queueBytes: RATE_BPS / 8 }, down: { ...base } }],
    seed: 1, bitrateBps: 4_000_000, nonref: 0, reactionMs: 500, durationMs: 30_000, latencyMs: 800,
    onStep: (now, t0) => {
      if (t0 >= 0 && (targets.length === 0 || now - t0 - targets[targets.length - 1]![0] >= 100)) targets.push([now - t0, peers.client.stats().targetBitrateBps]);
    },
  });
  // The media clock starts at t0 (connection); the trace at 0: the outage is OUT_FROM - t0 into the media.
  return { r, targets };
}

function audioOnTime(r: ReturnType<typeof run>['r'], from: number, to: number): number {
  const frames = r.frames.filter((f) => f.kind === 'audio' && f.capture >= from && f.capture < to);
  let ok = 0;
  for (const f of frames) if ((r.complete.get(f.id) ?? Infinity) - f.capture <= 800) ok++;
  return ok / frames.length;
}

for (const cc of ['delay', 'capacity'] as const) {
  test(`audio plays again within a second of a 4 s outage's end (${cc})`, () => {
    const { r } = run(cc);
    // The outage ends at OUT_TO on the trace's clock, a little later on the media's (t0 > 0):
    // frames captured 1 s after it on must arrive on time.
    const after = audioOnTime(r, OUT_TO + 1000, OUT_TO + 5000);
    assert.ok(after >= 0.98, `audio on time after the outage ${after}`);
    assert.ok(judge(r.frames, r.complete, 800).audio.onTimeRatio > 0.8);
  });
}

test('the capacity controller is back near the capacity within 3 s of the outage end', () => {
  const { targets } = run('capacity');
  const before = Math.max(...targets.filter(([t]) => t > OUT_FROM - 4000 && t < OUT_FROM - 500).map(([, b]) => b));
  assert.ok(before > 0.6 * RATE_BPS, `target before the outage ${before}`);
  const back = targets.find(([t, b]) => t > OUT_TO && b >= 0.6 * before);
  assert.ok(back, 'never back');
  assert.ok(back[0] - OUT_TO < 3000, `back only ${back[0] - OUT_TO} ms after the outage`);
});
