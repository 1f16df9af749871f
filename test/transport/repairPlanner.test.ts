import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RepairPlanner } from '../../src/transport/RepairPlanner.js';
import { Path } from '../../src/transport/Path.js';
import type { AckSample, SendAlgorithm } from '../../src/transport/cc/SendAlgorithm.js';

/** A controller with fixed rates: the planner reads only its target and delivery rate. */
function fixedCc(bps: number): SendAlgorithm {
  return {
    name: 'fixed',
    onPacketSent() {},
    onAck(_now: number, _s: AckSample) {},
    onLoss() {},
    onFeedback() {},
    canSend: () => true,
    pacingRateBps: () => 2 * bps,
    targetBitrateBps: () => bps,
    deliveryRateBps: () => bps,
  };
}

/** A path with RTT samples of `rttMs` and nothing in flight. */
function pathWithRtt(rttMs: number, bps = 2_000_000): Path {
  const p = new Path('p', 1200, 1452, 300, fixedCc(bps));
  for (let i = 0; i < 10; i++) p.rtt.update(rttMs);
  return p;
}

test('the loss prior is forgotten within two seconds of clean reports, and a lossy link is read with a margin', () => {
  const clean = new RepairPlanner(true);
  assert.ok(clean.loss >= 0.02, 'a 2% prior before any report');
  for (let i = 0; i < 20; i++) clean.onReport(0);
  assert.ok(clean.loss < 0.005, `after 2 s of clean reports: ${clean.loss}`);
  const lossy = new RepairPlanner(true);
  for (let i = 0; i < 300; i++) lossy.onReport(i % 10 === 0 ? 0.1 : 0); // 1% on average, in bursts of reports
  assert.ok(lossy.loss > 0.01 && lossy.loss < 0.03, `1% link read as ${lossy.loss}`);
});

test('the last resend goes twice at 1% loss and once on a nearly clean link', () => {
  const p = new RepairPlanner(true);
  for (let i = 0; i < 300; i++) p.onReport(0.01);
  assert.equal(p.resendCopies(), 2);
  const q = new RepairPlanner(true);
  for (let i = 0; i < 300; i++) q.onReport(0);
  assert.equal(q.resendCopies(), 1);
});

test('a frame sent at once has a resend round within 600 ms at 300 ms RTT; one queued 200 ms has none; none before the first RTT sample', () => {
  const planner = new RepairPlanner(true);
  for (let i = 0; i < 300; i++) planner.onReport(0.01);
  const path = pathWithRtt(300);
  // rounds counts the last round once per copy (2 at 1% loss): one round -> 2.
  assert.equal(planner.rounds(0, 600, 0, path, 4e6, 0), 2);
  const queued = (2e6 / 8) * 0.2; // 200 ms of the 2 Mbit/s target ahead in the send queue
  assert.equal(planner.rounds(0, 600, queued, path, 4e6, 0), 0);
  const fresh = new Path('p', 1200, 1452, 300, fixedCc(2e6));
  assert.equal(planner.rounds(0, 600, 0, fresh, 4e6, 0), 0);
});

test('a queue the sender just put into the bottleneck counts at once, before any RTT sample shows it', () => {
  const planner = new RepairPlanner(true);
  const path = pathWithRtt(300);
  const before = planner.oneWayMs(path, 0);
  path.countSent(0, 50_000, true); // a 50 KB keyframe, 200 ms at 2 Mbit/s
  const after = planner.oneWayMs(path, 0);
  assert.ok(after - before > 150, `one-way ${before} -> ${after} ms`);
  // An optimistic reading (is a resend still worth sending?) does not count the modelled queue.
  assert.ok(planner.oneWayMs(path, 0, false) < before + 1);
});

test('a link whose queue stands over 60 ms for a second gets no video FEC; audio keeps it; a keyframe burst does not count', () => {
  const planner = new RepairPlanner(true);
  for (let i = 0; i < 300; i++) planner.onReport(0.01);
  const path = pathWithRtt(300);
  // A keyframe: 30 KB at once, drained at 2 Mbit/s in 120 ms.
  path.countSent(0, 30_000, true);
  assert.ok(planner.fecLoss(0, path, 'video') > 0);
  assert.ok(planner.fecLoss(500, path, 'video') > 0, 'drained: not saturated');
  // A standing queue: sending 2.5 Mbit/s into 2 Mbit/s for 3 s.
  let zeroAt = -1;
  for (let t = 1000; t < 4000; t += 10) {
    path.countSent(t, (2.5e6 / 8) * 0.01, true);
    if (planner.fecLoss(t, path, 'video') === 0 && zeroAt < 0) zeroAt = t;
  }
  assert.ok(zeroAt > 1000, 'saturation seen');
  assert.ok(planner.fecLoss(3990, path, 'audio') > 0, 'audio keeps its FEC');
});
