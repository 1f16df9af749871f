import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Path } from '../../../src/transport/Path.js';
import { CapacityController } from '../../../src/transport/cc/CapacityController.js';
import { deliveryRate, type SentPacket } from '../../../src/transport/session/LossRecovery.js';

function path(minRtt: number): Path {
  const p = new Path('link0', 1200, 1400, 300, new CapacityController());
  p.rtt.update(minRtt);
  return p;
}

function sent(time: number, delivered: number, deliveredTime: number, firstSentTime: number, p: Path): SentPacket {
  return { pn: 1, time, bytes: 1200, path: p, seq: 0, frag: undefined, opens: undefined, ackEliciting: true, delivered, deliveredTime, firstSentTime, appLimited: false };
}

test('a burst of ACKs is not read as a rate the sender never sent at', () => {
  // The packet left at 1300, just after an ACK (at 1290) of a packet sent at 990; the 30
  // packets of 1200 bytes sent in between were held by the link and their ACKs came back
  // bunched within 30 ms. Over the ack interval alone that is 9.6 Mbit/s; this end sent
  // them over 310 ms (929 kbit/s).
  const p = path(250);
  const pkt = sent(1300, 0, 1290, 990, p);
  p.delivered = 30 * 1200;
  const r = deliveryRate(p, pkt, 1320);
  assert.ok(Math.abs(r - (36_000 * 8000) / 310) < 1, `rate ${r}`);
});

test('a steady flight gives bytes over the longer of its send and ack intervals', () => {
  const p = path(100);
  // Sent at 400, when the newest acked packet had been sent at 100 and acked at 350; acked at 700.
  const pkt = sent(400, 10_000, 350, 100, p);
  p.delivered = 10_000 + 45_000;
  assert.equal(deliveryRate(p, pkt, 700), (45_000 * 8000) / 350);
});

test('an interval shorter than the minimum RTT is no sample', () => {
  const p = path(300);
  const pkt = sent(1000, 0, 1000, 1000, p);
  p.delivered = 1200;
  assert.ok(Number.isNaN(deliveryRate(p, pkt, 1100)));
});
