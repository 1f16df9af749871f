import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QualityPicker } from '../../src/processing/ladder/QualityPicker.js';

/**
 * A viewer on a link of `linkBps` fed the rendition the picker chose, in virtual time: each
 * 250 ms step the server queues that rendition's bytes and the link drains what it can.
 */
function simulate(rates: number[], link: (t: number) => number, seconds: number): Array<{ t: number; index: number }> {
  const p = new QualityPicker(rates, 0);
  let sent = 0;
  let pending = 0;
  const trace: Array<{ t: number; index: number }> = [];
  for (let t = 0; t <= seconds * 1000; t += 250) {
    const bytes = (rates[p.current]! / 8) * 0.25;
    sent += bytes;
    pending = Math.max(0, pending + bytes - (link(t) / 8) * 0.25);
    trace.push({ t, index: p.sample(t, sent, pending) });
  }
  return trace;
}

const RATES = [2_000_000, 1_000_000, 500_000, 250_000];

test('a link that drops below the top rendition moves the viewer down within a second or two, straight to one it can carry', () => {
  const trace = simulate(RATES, (t) => (t < 5000 ? 5_000_000 : 700_000), 12);
  assert.ok(trace.filter((s) => s.t < 5000).every((s) => s.index === 0), 'stays on top while the link carries it');
  const down = trace.find((s) => s.t >= 5000 && s.index > 0)!;
  assert.ok(down.t - 5000 <= 1500, `down after ${down.t - 5000} ms`);
  const last = trace[trace.length - 1]!;
  assert.ok(RATES[last.index]! <= 700_000, `ends on ${RATES[last.index]} bit/s`);
});

test('up only after the queue stayed empty for the hold, one step at a time; an up that fails doubles the hold', () => {
  // 1.2 Mbit/s: carries 1 M but not 2 M.
  const trace = simulate(RATES, (t) => (t < 2000 ? 300_000 : 1_200_000), 90);
  const ups = trace.filter((s, i) => i > 0 && s.index < trace[i - 1]!.index);
  assert.ok(ups.length >= 2, `ups: ${JSON.stringify(ups)}`);
  for (let i = 1; i < ups.length; i++) assert.ok(ups[i]!.t - ups[i - 1]!.t >= 6000, 'no two ups closer than the hold');
  for (let i = 1; i < trace.length; i++) assert.ok(trace[i - 1]!.index - trace[i]!.index <= 1, 'one step up at a time');
  // Probes of the 2 M rendition fail; their spacing grows.
  const probes = ups.filter((u) => u.index === 0).map((u) => u.t);
  assert.ok(probes.length >= 2, `probes of the top: ${probes.join(',')}`);
  assert.ok(probes.length <= 4, `too many probes: ${probes.join(',')}`);
  if (probes.length >= 3) assert.ok(probes[2]! - probes[1]! > probes[1]! - probes[0]!, `probe spacing grows: ${probes.join(',')}`);
});

test('a one-sample burst (a keyframe, the GOP replay on join) is not a reason to go down', () => {
  const p = new QualityPicker(RATES, 0);
  assert.equal(p.sample(0, 0, 0), 0);
  assert.equal(p.sample(250, 400_000, 300_000), 0, 'join burst within the settle time');
  assert.equal(p.sample(1500, 800_000, 0), 0);
  assert.equal(p.sample(1750, 1_000_000, 200_000), 0, 'one sample over the mark');
  assert.equal(p.sample(2000, 1_060_000, 0), 0);
});

test('a link just below the top rendition (any cut below it, not only a deep one) is seen within two samples of its queue', () => {
  for (const share of [0.9, 0.75, 0.5, 0.3]) {
    const trace = simulate(RATES, (t) => (t < 5000 ? 5_000_000 : share * RATES[0]!), 15);
    assert.ok(trace.filter((s) => s.t < 5000).every((s) => s.index === 0), 'stays on top while the link carries it');
    const down = trace.find((s) => s.t >= 5000 && s.index > 0);
    assert.ok(down, `never went down on a link of ${share} of the top rate`);
    // The queue must first reach 16 KiB (the link is then the limit), then two intervals show it.
    const firstQueue = 5000 + (16384 * 8 * 1000) / ((1 - share) * RATES[0]!);
    assert.ok(down.t - firstQueue <= 1000, `link at ${share} of the top: down ${down.t - 5000} ms after the cut`);
    const last = trace[trace.length - 1]!;
    assert.ok(RATES[last.index]! <= share * RATES[0]!, `link at ${share}: ends on ${RATES[last.index]} bit/s`);
  }
});

test('a queue the server holds back by itself (the network empty) is not a short link', () => {
  const p = new QualityPicker(RATES, 0);
  let sent = 0;
  for (let t = 0; t <= 3000; t += 200) {
    sent += 2_000_000 / 8 / 5;
    // The server's queue grows (it capped what it hands the kernel), the kernel holds nothing.
    assert.equal(p.sample(t, sent, Math.min(100_000, t * 20), 0), 0, `at ${t} ms`);
  }
});
