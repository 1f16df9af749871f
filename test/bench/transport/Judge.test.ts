import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge } from '../../../src/bench/transport/Judge.js';
import { SyntheticSource } from '../../../src/bench/transport/Source.js';

const frames = new SyntheticSource({ bitrateBps: 1_000_000 }).take(4000 - 1e-9);

test('all frames at capture + 100 ms with a 600 ms deadline: everything on time', () => {
  const j = judge(frames, new Map(frames.map((f) => [f.id, f.capture + 100])), 600);
  assert.equal(j.audio.onTimeRatio, 1);
  assert.equal(j.video.onTimeRatio, 1);
  assert.equal(j.video.keyframeOnTimeRatio, 1);
  assert.deepEqual(j.latencyMs, { p50: 100, p95: 100, p99: 100, max: 100 });
});

test('one late P frame takes every frame after it down to the next keyframe', () => {
  const video = frames.filter((f) => f.kind === 'video');
  const late = video[10]!; // GOP of 60 frames: frames 10..59 are lost to the decoder
  const done = new Map(frames.map((f) => [f.id, f.capture + (f.id === late.id ? 700 : 50)]));
  const j = judge(frames, done, 600);
  assert.equal(j.video.sent, 120);
  assert.equal(j.video.onTime, 120 - 50);
  assert.equal(j.audio.onTimeRatio, 1);
  assert.equal(j.latencyMs.max, 700);
});

test('a missing keyframe loses its whole GOP; a missing audio frame only itself', () => {
  const video = frames.filter((f) => f.kind === 'video');
  const audio = frames.filter((f) => f.kind === 'audio');
  const done = new Map(frames.map((f) => [f.id, f.capture + 10]));
  done.delete(video[60]!.id);
  done.delete(audio[3]!.id);
  const j = judge(frames, done, 600);
  assert.equal(j.video.onTime, 60);
  assert.equal(j.video.keyframeOnTimeRatio, 0.5);
  assert.equal(j.audio.onTime, audio.length - 1);
});
