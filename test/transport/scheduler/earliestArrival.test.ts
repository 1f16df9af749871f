/**
 * The pooling scheduler on its own: real Paths with real controllers (their targets stand in
 * for a measured rate before the first delivery sample), fed packet by packet in virtual time
 * as the session feeds them. Whole sessions over emulated links are in ../bonding.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Path } from '../../../src/transport/Path.js';
import { DelayLossController } from '../../../src/transport/cc/DelayLossController.js';
import { EarliestArrivalScheduler } from '../../../src/transport/scheduler/EarliestArrival.js';
import { LowestRttScheduler } from '../../../src/transport/scheduler/LowestRtt.js';
import { pooledDelivery } from '../../../src/transport/scheduler/arrival.js';
import type { Scheduler } from '../../../src/transport/scheduler/Scheduler.js';

const PACKET = 1200;

function path(key: string, bps: number, rttMs: number): Path {
  const p = new Path(key, 1400, 1400, rttMs, new DelayLossController({ initialBps: bps, minBps: 10_000 }));
  p.validated = true;
  p.state = 'active';
  p.rtt.update(rttMs);
  // The pacer is left full and never charged (feed): the rule under test is the placement.
  return p;
}

/** Sends `bytes` of packets as fast as the scheduler lets them out; returns bytes per path. */
function feed(s: Scheduler, paths: Path[], bytes: number, now = 0): Map<Path, number> {
  const got = new Map<Path, number>();
  for (let sent = 0; sent < bytes; sent += PACKET) {
    const p = s.pick(now, 'aggregate', paths, PACKET, PACKET);
    assert.ok(p, 'some path takes the packet');
    p.countSent(now, PACKET, true);
    got.set(p, (got.get(p) ?? 0) + PACKET);
  }
  return got;
}

test('pooling: three links of C deliver a burst as soon as one link of 3C would', () => {
  const three = [path('a', 800_000, 300), path('b', 800_000, 300), path('c', 800_000, 300)];
  const one = [path('x', 2_400_000, 300)];
  const s = new EarliestArrivalScheduler();
  const burst = 60_000;
  const split = feed(s, three, burst);
  // Each link got a third (to a packet) ...
  for (const p of three) assert.ok(Math.abs(split.get(p)! - burst / 3) <= PACKET, `${p.key}: ${split.get(p)} bytes`);
  // ... so the last byte arrives when it would over the one big link.
  feed(s, one, burst);
  const t3 = Math.max(...three.map((p) => 150 + (p.schedQueueBytes(0) * 8000) / 800_000));
  const t1 = 150 + (one[0]!.schedQueueBytes(0) * 8000) / 2_400_000;
  assert.ok(Math.abs(t3 - t1) <= 15, `three links drain by ${t3.toFixed(0)} ms, one link of their sum by ${t1.toFixed(0)} ms`);
  // The pooled estimate the deadline skips use says the same for a new burst.
  const fresh3 = [path('a', 800_000, 300), path('b', 800_000, 300), path('c', 800_000, 300)];
  const fresh1 = [path('x', 2_400_000, 300)];
  assert.ok(Math.abs(pooledDelivery(0, fresh3, burst) - pooledDelivery(0, fresh1, burst)) < 1);
  assert.equal(Math.round(pooledDelivery(0, fresh1, burst)), 150 + 200);
});

test('unequal links: shares follow the rates, and a slow link with a short RTT is used before a fast one is queued up', () => {
  const fast = path('fast', 2_000_000, 600), mid = path('mid', 1_000_000, 300), slow = path('slow', 500_000, 100);
  const s = new EarliestArrivalScheduler();
  // A small packet on idle links goes where it arrives first: the 100 ms link.
  assert.equal(s.pick(0, 'aggregate', [fast, mid, slow], PACKET, PACKET), slow);
  // A big burst fills the links so that their last bytes arrive together: each link gets its
  // rate times (the common arrival time less its one-way delay).
  const got = feed(s, [fast, mid, slow], 300_000);
  const T = pooledDelivery(0, [path('f', 2_000_000, 600), path('m', 1_000_000, 300), path('s', 500_000, 100)], 300_000);
  for (const [p, bps, owd] of [[fast, 2e6, 300], [mid, 1e6, 150], [slow, 5e5, 50]] as const) {
    const expect = (bps / 8000) * (T - owd);
    assert.ok(Math.abs(got.get(p)! - expect) <= 2 * PACKET, `${p.key}: ${got.get(p)} bytes, expected ${Math.round(expect)}`);
  }
  // The old rule put everything on the lowest RTT while its window had room.
  const old = feed(new LowestRttScheduler(), [path('fast', 2e6, 600), path('mid', 1e6, 300), path('slow', 5e5, 100)], 30_000);
  assert.deepEqual([...old.keys()].map((p) => p.key), ['slow']);
});

test('a packet waits for the path that delivers it first when that path\'s pacer holds it', () => {
  const a = path('a', 2_000_000, 100), b = path('b', 200_000, 1000);
  a.pacer.setRate(0, 100_000, 1400);
  const s = new EarliestArrivalScheduler();
  // Drain a's bucket: its next packet leaves ~100 ms from now, still far sooner than b delivers.
  while (a.pacer.canSend(0, PACKET)) a.pacer.onSent(0, PACKET);
  assert.equal(s.pick(0, 'aggregate', [a, b], PACKET, PACKET), undefined);
  const wake = s.nextSendTime(0, 'aggregate', [a, b], PACKET, PACKET);
  assert.ok(wake > 0 && wake < 200, `wakes when a may send: ${wake}`);
  assert.equal(s.pick(wake, 'aggregate', [a, b], PACKET, PACKET), a);
});

test('a link whose RTT shows a queue the model does not know gets less, but stays in', () => {
  const steady = path('steady', 1_000_000, 200), dipping = path('dipping', 1_000_000, 200);
  // Its last RTT sample came back 400 ms above the minimum: its rate dipped.
  dipping.rtt.update(600);
  const got = feed(new EarliestArrivalScheduler(), [steady, dipping], 60_000);
  const d = got.get(dipping) ?? 0, st = got.get(steady)!;
  assert.ok(d > 0 && d < st / 2, `dipping link ${d} bytes, steady ${st}`);
});

test('hostile rates are bounded: a zero or absurd delivery rate never divides by zero or fills nothing', () => {
  const zero = path('zero', 800_000, 300);
  (zero.cc as unknown as { target: number }).target = 0;
  const huge = path('huge', 800_000, 300);
  (huge.cc as unknown as { maxDelivery: number }).maxDelivery = 1e15;
  (huge.cc as unknown as { maxDeliveryAt: number }).maxDeliveryAt = 0;
  for (const p of [zero, huge]) {
    const r = p.rateEstimateBps(0);
    assert.ok(Number.isFinite(r) && r >= 16_000 && r <= 10e9, `${p.key}: ${r}`);
  }
  const t = pooledDelivery(0, [zero, huge], 1e6);
  assert.ok(Number.isFinite(t) && t >= 0, `pooled ${t}`);
  assert.equal(pooledDelivery(0, [], 1000), Infinity);
});
