import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CapacityController } from '../../../src/transport/cc/CapacityController.js';
import { DelayLossController } from '../../../src/transport/cc/DelayLossController.js';
import type { AckSample, SendAlgorithm } from '../../../src/transport/cc/SendAlgorithm.js';
import { SeededRandom } from '../../../src/transport/Random.js';

/**
 * A packet-level link in virtual time (1 ms steps), for the controller alone: a source that
 * follows the target 500 ms late (plus 10% of wire overhead), a pacer at the controller's
 * rate, its window, a FIFO bottleneck with a capacity per ms and a drop-tail queue, random loss,
 * a fixed propagation delay each way, one ACK per packet with BBR's delivery-rate sample.
 */
interface Sent { time: number; bytes: number; delivered: number; deliveredTime: number; appLimited: boolean }
function run(cc: SendAlgorithm, o: { seconds: number; capacityBps: (t: number) => number; rttMs: number; loss?: number; queueBytes?: number }) {
  const rng = new SeededRandom(7);
  const PKT = 1200;
  const oneWay = o.rttMs / 2;
  const queue: Array<Sent & { arrive: number }> = [];
  const acks: Array<{ at: number; p: Sent; lost: boolean }> = [];
  const targets: number[] = [];
  let backlog = 0, credit = 0, inflight = 0, delivered = 0, deliveredTime = 0, linkBits = 0, busyBits = 0;
  let deliveredBits = 0, capacityBits = 0, lastPace = 0;
  const delays: number[] = [];
  const queueBytes = o.queueBytes ?? 200_000;
  let qBytes = 0;
  for (let t = 0; t < o.seconds * 1000; t++) {
    targets.push(cc.targetBitrateBps());
    const media = targets[Math.max(0, t - 500)]!;
    backlog = Math.min(backlog + (1.1 * media) / 8000, 400_000);
    credit = Math.min(credit + cc.pacingRateBps() / 8000 - 0, 2 * PKT);
    lastPace = t;
    while (backlog >= PKT && credit >= PKT && cc.canSend(inflight)) {
      backlog -= PKT;
      credit -= PKT;
      inflight += PKT;
      const p: Sent = { time: t, bytes: PKT, delivered, deliveredTime: deliveredTime || t, appLimited: backlog < PKT };
      cc.onPacketSent(t, PKT, inflight);
      if (o.loss && rng.float() < o.loss) acks.push({ at: t + o.rttMs + 20, p, lost: true });
      else if (qBytes + PKT > queueBytes) acks.push({ at: t + o.rttMs + 20, p, lost: true });
      else {
        queue.push({ ...p, arrive: t + oneWay });
        qBytes += PKT;
      }
    }
    // The bottleneck serves whole packets out of this ms's capacity (carried over while busy).
    const cap = o.capacityBps(t) / 1000;
    capacityBits += cap;
    linkBits = queue.length && queue[0]!.arrive <= t ? linkBits + cap : 0;
    while (queue.length && queue[0]!.arrive <= t && linkBits >= PKT * 8) {
      const p = queue.shift()!;
      qBytes -= PKT;
      linkBits -= PKT * 8;
      busyBits += PKT * 8;
      delays.push(t - p.time);
      acks.push({ at: t + oneWay, p, lost: false });
    }
    acks.sort((a, b) => a.at - b.at);
    while (acks.length && acks[0]!.at <= t) {
      const a = acks.shift()!;
      inflight -= a.p.bytes;
      if (a.lost) {
        cc.onLoss(t, a.p.bytes);
        continue;
      }
      delivered += a.p.bytes;
      deliveredTime = t;
      deliveredBits += a.p.bytes * 8;
      const interval = t - a.p.deliveredTime;
      const s: AckSample = {
        ackedBytes: a.p.bytes, rttMs: t - a.p.time, minRttMs: o.rttMs, srttMs: o.rttMs,
        deliveryRateBps: interval > 0 ? ((delivered - a.p.delivered) * 8000) / interval : NaN,
        appLimited: a.p.appLimited, oneWayDelayMs: t - a.p.time - oneWay,
      };
      cc.onAck(t, s);
    }
  }
  void lastPace;
  delays.sort((a, b) => a - b);
  return {
    used: busyBits / capacityBits,
    p95DelayMs: delays[Math.floor(delays.length * 0.95)] ?? 0,
    meanTarget: (t0: number, t1: number) => targets.slice(t0, t1).reduce((a, b) => a + b, 0) / (t1 - t0),
    maxTarget: (t0: number, t1: number) => Math.max(...targets.slice(t0, t1)),
    deliveredBits,
  };
}

const RTT = 100;

test('an on/off link (1 s at 3 Mbit/s, 1 s at 1 Mbit/s) is used, not read as congestion', () => {
  const onOff = (t: number) => (Math.floor(t / 1000) % 2 === 0 ? 3e6 : 1e6);
  const cap = run(new CapacityController({ initialBps: 1e6 }), { seconds: 60, capacityBps: onOff, rttMs: RTT });
  const delay = run(new DelayLossController({ initialBps: 1e6 }), { seconds: 60, capacityBps: onOff, rttMs: RTT });
  // The target takes 0.7 of a busy link's measured capacity (BUSY_UTILIZATION), so 0.5 of the
  // link is the floor here (0.6 before that margin).
  assert.ok(cap.used >= 0.5, `capacity controller used ${cap.used.toFixed(3)} of the link`);
  assert.ok(cap.p95DelayMs < 800, `p95 packet delay ${cap.p95DelayMs} ms`);
  assert.ok(cap.used > delay.used, `capacity ${cap.used.toFixed(3)} vs delay-loss ${delay.used.toFixed(3)}`);
});

test('random loss alone does not cut the rate', () => {
  const clean = run(new CapacityController({ initialBps: 1e6 }), { seconds: 30, capacityBps: () => 2e6, rttMs: RTT });
  const lossy = run(new CapacityController({ initialBps: 1e6 }), { seconds: 30, capacityBps: () => 2e6, rttMs: RTT, loss: 0.03 });
  const a = clean.meanTarget(10_000, 30_000), b = lossy.meanTarget(10_000, 30_000);
  assert.ok(b >= 0.85 * a, `3% loss: target ${Math.round(b)} vs ${Math.round(a)} without loss`);
  assert.ok(b >= 1.2e6, `target ${Math.round(b)} on a 2 Mbit/s link with 3% loss`);
});

test('a step down in capacity is followed within a few RTTs', () => {
  const cc = new CapacityController({ initialBps: 1e6 });
  const step = (t: number) => (t < 20_000 ? 4e6 : 1e6);
  const r = run(cc, { seconds: 30, capacityBps: step, rttMs: RTT });
  const before = r.meanTarget(15_000, 20_000);
  assert.ok(before >= 2.5e6, `before the step: ${Math.round(before)}`);
  // Within 1.5 s (the encoder's 0.5 s, the standing window and a few RTTs) it is at the new capacity.
  const after = r.meanTarget(21_500, 30_000);
  assert.ok(after <= 1.1e6 && after >= 0.5e6, `after the step: ${Math.round(after)}`);
});

const sample = (o: Partial<AckSample> = {}): AckSample => ({ ackedBytes: 1200, rttMs: 100, minRttMs: 100, srttMs: 100, deliveryRateBps: 1e6, appLimited: false, oneWayDelayMs: 50, ...o });

test('hostile reports are bounded and counted', () => {
  const cc = new CapacityController({ initialBps: 1e6, maxBps: 50e6 });
  let t = 0;
  for (let i = 0; i < 50; i++) {
    cc.onPacketSent((t += 10), 1200, 1200);
    cc.onAck(t, sample());
  }
  // An ACK that claims a megabyte never sent.
  cc.onAck((t += 10), sample({ ackedBytes: 1e6 }));
  assert.equal(cc.anomalies.ackedUnsent, 1);
  // Delivery rates of zero, negative, infinite and terabits.
  for (const r of [0, -5, Infinity, 1e15]) cc.onAck((t += 10), sample({ ackedBytes: 0, deliveryRateBps: r, rttMs: 200 }));
  assert.ok(cc.anomalies.badRate >= 4, `badRate ${cc.anomalies.badRate}`);
  assert.ok(cc.deliveryRateBps() <= 200e6, `estimate ${cc.deliveryRateBps()}`);
  // A timestamp from the future (negative RTT), an absurd one, and a clock that goes back.
  cc.onAck((t += 10), sample({ rttMs: -400 }));
  cc.onAck((t += 10), sample({ rttMs: 1e9 }));
  assert.equal(cc.anomalies.badRtt, 2);
  cc.onAck(t - 5000, sample());
  assert.equal(cc.anomalies.clockBackwards, 1);
  // 100% loss, then none, then nonsense.
  for (let i = 0; i < 20; i++) cc.onFeedback((t += 100), 1, NaN);
  for (let i = 0; i < 20; i++) cc.onFeedback((t += 100), 0, NaN);
  cc.onFeedback((t += 100), 7, NaN);
  cc.onFeedback((t += 100), -1, NaN);
  assert.equal(cc.anomalies.badLoss, 2);
  const target = cc.targetBitrateBps();
  assert.ok(Number.isFinite(target) && target >= 100_000 && target <= 50e6, `target ${target}`);
  assert.ok(Number.isFinite(cc.pacingRateBps()) && cc.pacingRateBps() > 0);
  const w = cc.windowBytes();
  assert.ok(Number.isFinite(w) && w > 0 && w < 1e9, `window ${w}`);
});

test('a path that reports nothing but garbage keeps a finite, positive window and target', () => {
  const cc = new CapacityController({ initialBps: 1e6 });
  for (let i = 0; i < 200; i++) {
    cc.onAck(i, sample({ ackedBytes: NaN, rttMs: NaN, srttMs: -1, deliveryRateBps: NaN }));
    cc.onLoss(i, Infinity);
  }
  assert.ok(cc.targetBitrateBps() >= 100_000 && Number.isFinite(cc.targetBitrateBps()));
  assert.ok(cc.canSend(0));
  assert.ok(Number.isFinite(cc.windowBytes()) && cc.windowBytes() > 0);
});

test('after an outage on a bursty link the target goes back to what the link carried, not to its bursts', () => {
  // 2 Mbit/s on average in bursts (6 Mbit/s for 100 ms of every 500 ms, 1 Mbit/s between),
  // nothing from 20 to 24 s: packets sent meanwhile wait in the bottleneck.
  const bursty = (t: number) => (t >= 20_000 && t < 24_000 ? 0 : t % 500 < 100 ? 6e6 : 1e6);
  const r = run(new CapacityController({ initialBps: 1e6 }), { seconds: 30, capacityBps: bursty, rttMs: 300, queueBytes: 250_000 });
  const before = r.meanTarget(12_000, 19_500);
  const after = r.meanTarget(25_000, 28_000);
  const peak = r.maxTarget(24_000, 28_000);
  assert.ok(before > 1e6, `before the outage ${Math.round(before)}`);
  assert.ok(after >= 0.6 * before, `after ${Math.round(after)} vs ${Math.round(before)} before`);
  assert.ok(peak <= 1.5 * before, `peak after the outage ${Math.round(peak)} vs ${Math.round(before)} before`);
});

test('light loss on a sparse flow is not read as heavy: a 200-byte loss after each quiet 100 ms is 2% of the bytes, not a fifth', () => {
  // 1200 bytes acked every 20 ms (480 kbit/s) at a constant 300 ms RTT, no queue; every 250 ms
  // the ACKs pause for 100 ms and one 200-byte packet is declared lost. Weighted by the time
  // since the previous event, each lone loss counted as a tenth of a second of traffic lost
  // (about 25% "loss"), the link was marked busy and the target held under what it delivered.
  const cc = new CapacityController({ initialBps: 300_000 });
  let t = 0;
  for (let cycle = 0; cycle < 80; cycle++) {
    for (let i = 0; i < 8; i++) {
      cc.onPacketSent(t, 1200, 1200);
      cc.onAck(t, { ackedBytes: 1200, rttMs: 300, minRttMs: 300, srttMs: 300, deliveryRateBps: 480_000, appLimited: true, oneWayDelayMs: 150 });
      t += 20;
    }
    t += 90;
    cc.onPacketSent(t, 200, 200);
    cc.onLoss(t, 200);
    t += 10;
  }
  // Read as heavy loss, each ACK's delivery became a "busy" sample and the estimate fell to 308 kbit/s.
  assert.ok(cc.deliveryRateBps() >= 0.9 * 480_000, `capacity estimate ${Math.round(cc.deliveryRateBps())} bit/s`);
  assert.ok(cc.targetBitrateBps() >= 480_000, `target ${Math.round(cc.targetBitrateBps())} bit/s on a path delivering 480 kbit/s with 2% loss and no queue`);
});
