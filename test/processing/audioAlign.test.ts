import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AudioAlign } from '../../src/processing/mix/AudioAlign.js';

test('audio lagging its picture by more than the tolerance is dropped down to it; within tolerance nothing is', () => {
  const a = new AudioAlign(48_000, 30);
  a.start(1000);
  // The picture shown is at 1000 + 20 ms: within tolerance.
  assert.equal(a.dropBefore(1020, 48_000), 0);
  // A stall's backlog: the head is 1000, the picture 1150: 150 ms = 7200 frames go.
  assert.equal(a.dropBefore(1150, 48_000), 7200);
  a.consumed(7200);
  assert.equal(a.dropBefore(1150, 48_000), 0, 'aligned now');
  // The compositor takes a tick (1600 frames) and the picture moves on by a tick: still aligned.
  a.consumed(1600);
  assert.equal(a.dropBefore(1150 + 1600 / 48, 48_000), 0);
  assert.equal(Math.round(a.droppedMs), 150);
});

test('a lag larger than the queue re-bases the timeline instead of muting what comes next', () => {
  const a = new AudioAlign(48_000, 30);
  a.start(0);
  // Only 100 ms queued, the picture 1 s ahead (an audio timeline that ran short).
  assert.equal(a.dropBefore(1000, 4800), 4800);
  a.consumed(4800);
  assert.equal(a.rebased, 1);
  // New audio arrives and the picture advances with it: nothing more is dropped.
  a.consumed(1600);
  assert.equal(a.dropBefore(1000 + 1600 / 48, 1600), 0);
});

test('audio ahead of the picture, garbage times and no start are left alone', () => {
  const a = new AudioAlign(48_000, 30);
  assert.equal(a.dropBefore(5000, 1000), 0, 'not started');
  a.start(2000);
  assert.equal(a.dropBefore(1000, 48_000), 0, 'audio leads: not this rule');
  assert.equal(a.dropBefore(Number.NaN, 48_000), 0);
  assert.equal(a.dropBefore(undefined, 48_000), 0);
});
