import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oracle } from '../../../src/bench/transport/Oracle.js';
import { SyntheticSource } from '../../../src/bench/transport/Source.js';
import { RateBottleneck, TraceBottleneck, loadTrace, parseTrace } from '../../../src/emulator/index.js';

const frames = new SyntheticSource({ bitrateBps: 1_200_000 }).take(20_000 - 1e-9);

test('a perfect link (or a fast enough one) gives 1.0', () => {
  assert.deepEqual(oracle(frames, undefined, 150, 600), { audio: { onTimeRatio: 1 }, video: { onTimeRatio: 1 } });
  const r = oracle(frames, new RateBottleneck(2e6), 150, 600);
  assert.equal(r.audio.onTimeRatio, 1);
  assert.equal(r.video.onTimeRatio, 1);
});

test('a one-way delay beyond the deadline gives 0', () => {
  const r = oracle(frames, undefined, 700, 600);
  assert.equal(r.audio.onTimeRatio, 0);
  assert.equal(r.video.onTimeRatio, 0);
});

test('a 3 s outage loses the frames it covers and the rest of the GOP after it', () => {
  // outage from 5000 to 8000 ms, 150 ms one-way, 600 ms deadline: audio captured in [5000, 7550)
  // cannot arrive in time (it leaves at 8000 at the earliest). Video from 5000 is lost, and since
  // the keyframe at 6000 falls inside the outage too, nothing decodes until the keyframe at 8000.
  const r = oracle(frames, new RateBottleneck(10e6), 150, 600, [[5000, 8000]]);
  const audioLost = frames.filter((f) => f.kind === 'audio' && f.capture >= 5000 && f.capture < 7550).length;
  const audio = frames.filter((f) => f.kind === 'audio').length;
  assert.ok(Math.abs(r.audio.onTimeRatio - (audio - audioLost) / audio) <= 1 / audio + 1e-9, `audio ${r.audio.onTimeRatio}`);
  const video = frames.filter((f) => f.kind === 'video');
  const videoLost = video.filter((f) => f.capture >= 5000 && f.capture < 8000).length;
  assert.ok(Math.abs(r.video.onTimeRatio - (video.length - videoLost) / video.length) <= 2 / video.length, `video ${r.video.onTimeRatio}`);
});

test('too little capacity: audio goes first and survives, video is skipped to the next keyframe', () => {
  const r = oracle(frames, new RateBottleneck(300_000), 50, 400);
  assert.ok(r.audio.onTimeRatio > 0.99, `audio ${r.audio.onTimeRatio}`);
  assert.ok(r.video.onTimeRatio < 0.3, `video ${r.video.onTimeRatio}`);
});

test('a trace with a gap: frames that cannot cross it are lost, capacity afterwards is used', () => {
  // 10 opportunities per ms except 3000..6000 ms where there are none; period 10 s
  const lines: number[] = [];
  for (let t = 1; t <= 10_000; t++) if (t < 3000 || t >= 6000) for (let i = 0; i < 10; i++) lines.push(t);
  const tr = parseTrace('gap', lines.join('\n'));
  const r = oracle(frames.filter((f) => f.capture < 10_000), new TraceBottleneck(tr), 100, 500);
  assert.ok(r.audio.onTimeRatio > 0.6 && r.audio.onTimeRatio < 0.75, `audio ${r.audio.onTimeRatio}`);
});

test('a real cellular trace gives a limit below 1 at 1.5 Mbps', () => {
  const f = new SyntheticSource({ bitrateBps: 1_500_000 }).take(120_000 - 1e-9);
  const r = oracle(f, new TraceBottleneck(loadTrace('ATT-LTE-driving-2016.up')), 150, 800);
  assert.ok(r.audio.onTimeRatio < 1 && r.audio.onTimeRatio > 0.8, `audio ${r.audio.onTimeRatio}`);
  assert.ok(r.video.onTimeRatio < r.audio.onTimeRatio, `video ${r.video.onTimeRatio}`);
  console.log(`oracle on ATT-LTE-driving-2016.up at 1.5 Mbps, 800 ms: audio ${r.audio.onTimeRatio.toFixed(4)} video ${r.video.onTimeRatio.toFixed(4)}`);
});
