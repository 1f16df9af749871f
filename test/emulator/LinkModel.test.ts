import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkModel, RateBottleneck, type LinkConfig } from '../../src/emulator/index.js';

/** Sends `count` packets of `size` every `gapMs` and drains everything; returns arrival times (NaN = lost). */
function run(cfg: LinkConfig, seed: number, count: number, gapMs: number, size = 1000): number[] {
  const link = new LinkModel<number>(cfg, seed);
  const arrivals = new Array<number>(count).fill(NaN);
  for (let i = 0; i < count; i++) {
    link.send(i * gapMs, size, i);
  }
  for (let d = link.poll(Infinity); d; d = link.poll(Infinity)) {
    if (Number.isNaN(arrivals[d.payload]!)) arrivals[d.payload] = d.time;
  }
  return arrivals;
}

test('the same seed repeats a run exactly; another seed differs', () => {
  const cfg: LinkConfig = { delayMs: 50, jitterMs: 5, loss: 0.05, burst: 3, reorder: 0.01, duplicate: 0.01 };
  const a = run(cfg, 42, 5000, 2);
  const b = run(cfg, 42, 5000, 2);
  const c = run(cfg, 43, 5000, 2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('independent loss rate is within tolerance of the setting', () => {
  const arr = run({ loss: 0.02 }, 1, 200_000, 1);
  const rate = arr.filter(Number.isNaN).length / arr.length;
  assert.ok(Math.abs(rate - 0.02) < 0.002, `loss ${rate}`);
});

test('Gilbert-Elliott: loss rate and mean burst length match the settings', () => {
  const arr = run({ loss: 0.03, burst: 3 }, 2, 300_000, 1);
  let lost = 0, bursts = 0, prevLost = false;
  for (const t of arr) {
    const l = Number.isNaN(t);
    if (l) lost++;
    if (l && !prevLost) bursts++;
    prevLost = l;
  }
  const rate = lost / arr.length;
  const meanBurst = lost / bursts;
  assert.ok(Math.abs(rate - 0.03) < 0.004, `loss ${rate}`);
  assert.ok(Math.abs(meanBurst - 3) < 0.25, `burst ${meanBurst}`);
});

test('delay and jitter: arrivals are delay + non-negative jitter, never reordered', () => {
  const arr = run({ delayMs: 100, jitterMs: 10 }, 3, 2000, 5);
  let prev = -Infinity, extra = 0;
  arr.forEach((t, i) => {
    assert.ok(t >= i * 5 + 100);
    assert.ok(t >= prev);
    extra += t - (i * 5 + 100);
    prev = t;
  });
  const mean = extra / arr.length;
  assert.ok(mean > 4 && mean < 15, `mean jitter ${mean}`);
});

test('reordering holds some packets back past later ones; duplication delivers twice', () => {
  const link = new LinkModel<number>({ delayMs: 10, reorder: 0.1, reorderDelayMs: 20, duplicate: 0.05 }, 4);
  for (let i = 0; i < 10000; i++) link.send(i, 100, i);
  const seen: number[] = [];
  for (let d = link.poll(Infinity); d; d = link.poll(Infinity)) seen.push(d.payload);
  let inversions = 0;
  for (let i = 1; i < seen.length; i++) if (seen[i]! < seen[i - 1]!) inversions++;
  assert.ok(inversions > 500, `inversions ${inversions}`);
  const dups = seen.length - new Set(seen).size;
  assert.equal(dups, link.stats.duplicated);
  assert.ok(Math.abs(dups / 10000 - 0.05) < 0.01);
});

test('rate limit: throughput equals the rate when overloaded; drop-tail bounds the queue', () => {
  // 2 Mbps link, offered 4 Mbps of 1000-byte packets for 10 s, queue 50 packets.
  const link = new LinkModel<number>({ bottleneck: new RateBottleneck(2_000_000), queuePackets: 50 }, 5);
  for (let i = 0; i < 5000; i++) link.send(i * 2, 1000, i);
  let bytes = 0, last = 0;
  for (let d = link.poll(Infinity); d; d = link.poll(Infinity)) {
    bytes += 1000;
    last = d.time;
  }
  const bps = (bytes * 8 * 1000) / last;
  assert.ok(Math.abs(bps - 2_000_000) / 2_000_000 < 0.01, `throughput ${bps}`);
  assert.ok(link.stats.droppedQueue > 2000 && link.stats.droppedQueue < 2600, `queue drops ${link.stats.droppedQueue}`);
  // the queue never holds more than 50 packets: worst delay is 50 service times (4 ms each)
  const q = new LinkModel<number>({ bottleneck: new RateBottleneck(2_000_000), queueBytes: 10_000 }, 5);
  for (let i = 0; i < 100; i++) q.send(0, 1000, i);
  assert.equal(q.stats.droppedQueue, 90);
  assert.equal(q.queueBytesAt(0), 10_000);
  assert.equal(q.queueBytesAt(40), 0);
});

test('outages drop what is offered inside them; block() drops everything until unblock()', () => {
  const arr = run({ delayMs: 10, outages: [[1000, 2000]] }, 6, 3000, 1);
  arr.forEach((t, i) => assert.equal(Number.isNaN(t), i >= 1000 && i < 2000, `packet ${i}`));
  const link = new LinkModel<number>({ delayMs: 10 }, 7);
  link.send(0, 100, 0);
  link.block();
  link.send(1, 100, 1);
  link.unblock();
  link.send(2, 100, 2);
  const got: number[] = [];
  for (let d = link.poll(Infinity); d; d = link.poll(Infinity)) got.push(d.payload);
  assert.deepEqual(got, [0, 2]);
  assert.equal(link.stats.droppedBlocked, 1);
});

test('poll hands out only what is due; nextTime names the earliest', () => {
  const link = new LinkModel<string>({ delayMs: 30 }, 8);
  link.send(0, 10, 'a');
  link.send(5, 10, 'b');
  assert.equal(link.nextTime(), 30);
  assert.equal(link.poll(29), undefined);
  assert.equal(link.poll(30)?.payload, 'a');
  assert.equal(link.nextTime(), 35);
  assert.equal(link.poll(40)?.payload, 'b');
  assert.equal(link.nextTime(), undefined);
});
