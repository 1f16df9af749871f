import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyntheticSource, AUDIO_BYTES } from '../../../src/bench/transport/Source.js';

test('30 fps video with a keyframe every 2 s about 8x a P frame, 50 audio packets/s, at the bitrate', () => {
  const src = new SyntheticSource({ bitrateBps: 1_200_000 });
  const frames = src.take(10_000 - 1e-9);
  const video = frames.filter((f) => f.kind === 'video');
  const audio = frames.filter((f) => f.kind === 'audio');
  assert.equal(video.length, 300);
  assert.equal(audio.length, 500);
  assert.ok(audio.every((f) => f.size === AUDIO_BYTES));
  const keys = video.filter((f) => f.keyframe);
  assert.deepEqual(keys.map((f) => Math.round(f.capture)), [0, 2000, 4000, 6000, 8000]);
  assert.equal(keys[0]!.size / video[1]!.size > 7.9 && keys[0]!.size / video[1]!.size < 8.1, true);
  const bits = frames.reduce((s, f) => s + f.size * 8, 0);
  assert.ok(Math.abs(bits / 10 - 1_200_000) < 12_000, `bitrate ${bits / 10}`);
  // capture order, audio first on a tie; every P frame predicted from the previous frame
  for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.capture >= frames[i - 1]!.capture);
  assert.equal(frames[0]!.kind, 'audio');
  for (let i = 1; i < video.length; i++) if (!video[i]!.keyframe) assert.equal(video[i]!.refId, video[i - 1]!.id);
});

test('--nonref: that fraction of P frames is non-reference and nothing is predicted from them', () => {
  const src = new SyntheticSource({ bitrateBps: 1_000_000, nonref: 0.3, seed: 5 });
  const video = src.take(60_000).filter((f) => f.kind === 'video');
  const p = video.filter((f) => !f.keyframe);
  const nonref = p.filter((f) => !f.reference);
  assert.ok(Math.abs(nonref.length / p.length - 0.3) < 0.03);
  const ids = new Set(nonref.map((f) => f.id));
  assert.ok(video.every((f) => !ids.has(f.refId)));
});

test('adaptive: video follows the target only after the reaction delay', () => {
  const src = new SyntheticSource({ bitrateBps: 2_000_000, reactionMs: 500 });
  src.take(999);
  src.setTarget(1000, 500_000);
  assert.ok(src.videoBps(1400) > 1_900_000);
  assert.ok(Math.abs(src.videoBps(1600) - (500_000 - 64_000)) < 1);
});

test('an encoder the sender runs makes a keyframe when asked, at most every 300 ms, and its GOP restarts there', () => {
  const src = new SyntheticSource({ bitrateBps: 1_200_000, reactionMs: 500, keyframeOnRequest: true });
  const first = src.take(500 - 1e-9).filter((f) => f.kind === 'video');
  assert.deepEqual(first.filter((f) => f.keyframe).map((f) => Math.round(f.capture)), [0]);
  src.requestKeyframe();
  const next = src.take(600 - 1e-9).filter((f) => f.kind === 'video');
  assert.equal(next[0]!.keyframe, true, 'the next frame is a keyframe');
  src.requestKeyframe(); // 33 ms after the last: waits until 300 ms after it
  const later = src.take(3000 - 1e-9).filter((f) => f.kind === 'video');
  const keys = [next[0]!, ...later].filter((f) => f.keyframe).map((f) => Math.round(f.capture));
  assert.deepEqual(keys, [500, 800, 2800], 'forced at 500 and 800, then a GOP later');
  assert.equal(src.forcedKeyframes, 2);
  // An external encoder cannot be asked.
  const obs = new SyntheticSource({ bitrateBps: 1_200_000 });
  obs.take(500 - 1e-9);
  obs.requestKeyframe();
  assert.equal(obs.take(600 - 1e-9).filter((f) => f.kind === 'video')[0]!.keyframe, false);
});
