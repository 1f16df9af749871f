import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DelayLossController } from '../../../src/transport/cc/DelayLossController.js';

/**
 * A sender of 1200-byte packets at `sendBps(t)` through a link of `linkBps` (a FIFO queue), each
 * acked 1 ms after it leaves the link; `stampLateMs(t)` is added to the receiver's stamp of a
 * packet leaving at t (a CPU-loaded receiver reads its socket late: delay no rate built).
 * Virtual time, 1 ms steps; returns the controller's target at the end.
 */
function drive(c: DelayLossController, o: { ms: number; sendBps: (t: number) => number; linkBps: number; stampLateMs?: (t: number) => number }): number {
  const pending: Array<{ sentAt: number; leaves: number; late: number }> = [];
  let linkFree = 0;
  let owed = 0;
  let srtt = 2;
  let lastAck = 0;
  for (let t = 0; t < o.ms; t++) {
    owed += o.sendBps(t) / 8000;
    while (owed >= 1200) {
      owed -= 1200;
      linkFree = Math.max(linkFree, t) + (1200 * 8000) / o.linkBps;
      pending.push({ sentAt: t, leaves: linkFree, late: o.stampLateMs?.(linkFree) ?? 0 });
    }
    while (pending.length && pending[0]!.leaves + pending[0]!.late + 1 <= t) {
      const p = pending.shift()!;
      const rtt = t - p.sentAt;
      srtt = 0.875 * srtt + 0.125 * rtt;
      const interval = Math.max(1, t - lastAck);
      lastAck = t;
      c.onAck(t, {
        ackedBytes: 1200, rttMs: rtt, minRttMs: 2, srttMs: srtt,
        deliveryRateBps: Math.min(o.linkBps, (1200 * 8000) / interval), appLimited: o.sendBps(t) < o.linkBps,
        oneWayDelayMs: p.leaves - p.sentAt + p.late,
      });
    }
  }
  return c.targetBitrateBps();
}

/** 60 ms of late stamps every 300 ms, as the e2e test's viewers saw on a loaded machine. */
const stalls = (t: number) => (t % 300 < 60 ? 60 - (t % 300) : 0);

test('delay the sender did not build (late receive stamps, everything delivered) does not take the target below what the link carries', () => {
  // Audio alone (64 kbit/s) for 2 s, as a sender waits for its encoder's keyframe, then 1.2 Mbit/s.
  const c = new DelayLossController({ initialBps: 1_200_000 });
  const target = drive(c, { ms: 6000, sendBps: (t) => (t < 2000 ? 64_000 : 1_200_000), linkBps: 50_000_000, stampLateMs: stalls });
  // Before: cut against the audio-only delivery rate at the first stall, then 0.85x per RTT (183 kbit/s here, pacing 366).
  assert.ok(target >= 0.6 * 1_200_000, `target ${Math.round(target / 1000)} kbit/s for a 1.2 Mbit/s sender on an idle 50 Mbit/s link`);
  assert.ok(c.pacingRateBps() >= 1_200_000, `pacing ${Math.round(c.pacingRateBps() / 1000)} kbit/s: a keyframe must not take most of the deadline`);
});

test('a real bottleneck still cuts the target: 3 Mbit/s offered to a 1 Mbit/s link', () => {
  const c = new DelayLossController({ initialBps: 3_000_000 });
  const target = drive(c, { ms: 4000, sendBps: () => 3_000_000, linkBps: 1_000_000 });
  assert.ok(target <= 1_000_000, `target ${Math.round(target / 1000)} kbit/s on a 1 Mbit/s link`);
});
