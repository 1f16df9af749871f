import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawInto, mixAudio, solidPicture } from '../../src/processing/mix/compose.js';
import { layoutSlots } from '../../src/processing/mix/layout.js';
import { MixClock } from '../../src/processing/mix/MixClock.js';
import { ConfigError, parseConfig } from '../../src/node/config.js';

test('every layout keeps its slots inside the picture, even-aligned, main first', () => {
  const layouts = [
    { type: 'pip', corner: 'top-left', size: 0.25 }, { type: 'pip', corner: 'bottom-right', size: 0.5 },
    { type: 'side-by-side' }, { type: 'main-sub' }, { type: 'grid' },
  ] as const;
  for (const layout of layouts) {
    const n = layout.type === 'pip' || layout.type === 'side-by-side' ? 2 : 5;
    for (const main of [0, 1]) {
      const slots = layoutSlots(layout, n, main, 1280, 720);
      assert.equal(slots[0]!.input, main, `${layout.type}: main first`);
      assert.equal(new Set(slots.map((s) => s.input)).size, slots.length, `${layout.type}: each input once`);
      for (const s of slots) {
        assert.ok(s.x >= 0 && s.y >= 0 && s.x + s.w <= 1280 && s.y + s.h <= 720, `${layout.type}: ${JSON.stringify(s)} inside`);
        for (const v of [s.x, s.y, s.w, s.h]) assert.equal(v % 2, 0, `${layout.type}: even ${JSON.stringify(s)}`);
      }
    }
  }
});

test('drawing scales and crops an input into its slot, touching nothing outside it', () => {
  const dst = solidPicture(64, 36, 16, 128, 128);
  const src = solidPicture(32, 18, 200, 60, 90);
  drawInto(dst, src, { input: 0, x: 40, y: 20, w: 20, h: 10 });
  const Y = (x: number, y: number) => dst.data[y * 64 + x];
  const U = (x: number, y: number) => dst.data[64 * 36 + (y >> 1) * 32 + (x >> 1)];
  assert.equal(Y(45, 25), 200);
  assert.equal(U(45, 25), 60);
  assert.equal(Y(39, 25), 16);
  assert.equal(Y(60, 25), 16);
  assert.equal(Y(45, 19), 16);
  assert.equal(Y(45, 30), 16);
  assert.equal(U(38, 25), 128);
});

test('audio: gains apply, a missing input is silence, sums clip instead of wrapping', () => {
  const out = new Int16Array(4);
  mixAudio(out, [{ samples: Int16Array.from([1000, -1000, 30000, -30000]), gain: 0.5 }, { samples: undefined, gain: 1 }, { samples: Int16Array.from([0, 0, 30000, -30000]), gain: 1 }]);
  assert.deepEqual([...out], [500, -500, 32767, -32768]);
});

test('the compositor clock makes up late wake-ups and skips ahead after a long stop', () => {
  const c = new MixClock(30);
  assert.equal(c.due(0), 1);
  c.take();
  assert.equal(c.due(20), 0);
  assert.equal(c.due(100), 3);
  for (let i = 0; i < 3; i++) c.take();
  assert.ok(Math.abs(c.nextAt() - 133.3) < 0.1);
  assert.equal(c.due(5000), 1, 'a 5 s stop is one frame, not a burst of 150');
  assert.ok(c.skipped > 100);
});

test('the config validates processing jobs, mixes and ladders, naming the field', () => {
  assert.throws(() => parseConfig({ apps: { live: { ladder: [{ name: '720p', height: 721, kbps: 2500 }] } } }), (e: unknown) => e instanceof ConfigError && /apps\.live\.ladder\.0\.height/.test(e.message));
  assert.throws(() => parseConfig({ processing: { mixes: [{ output: 'live/x', inputs: [{ source: { stream: 'live/a' } }], layout: { type: 'pip' } }] } }), (e: unknown) => e instanceof ConfigError && /pip takes exactly 2 inputs/.test(e.message));
  assert.throws(() => parseConfig({ processing: { maxJobs: -1 } }), ConfigError);
  const c = parseConfig({ processing: { jobs: [{ input: { stream: 'live/a' }, outputs: [{ stream: 'live/b', height: 360, kbps: 800 }] }] } });
  assert.equal(c.processing.jobs[0]!.gopSeconds, 1);
  assert.equal(c.processing.maxJobs, 4);
});
