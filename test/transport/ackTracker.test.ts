import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckTracker } from '../../src/transport/AckTracker.js';

test('an ACK is owed only after an ack-eliciting packet, and not again after it was sent', () => {
  const t = new AckTracker(5, 10);
  t.onPacket(0, 1, false);
  t.onPacket(1, 2, false);
  assert.equal(t.owesAck, false, 'ACK-only packets need no ACK');
  t.onPacket(2, 3, true);
  assert.equal(t.owesAck, true);
  assert.ok(t.buildAck(3));
  assert.equal(t.owesAck, false);
});

test('a gap is NACKed once it is older than the reorder delay, not before', () => {
  const t = new AckTracker(5, 10);
  t.onPacket(0, 1, true);
  t.onPacket(0, 3, true);
  assert.deepEqual(t.takeNacks(5, 100, 16), []);
  assert.deepEqual(t.takeNacks(11, 100, 16), [2]);
  t.onPacket(12, 2, true);
  assert.deepEqual(t.takeNacks(200, 100, 16), [], 'an arrived packet is no longer NACKed');
});
