import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecvStream, type Delivered } from '../../src/transport/Reassembly.js';
import { DATA_FLAG_REFERENCE, type DataFrame } from '../../src/wire/data.js';

/** A fragment as the wire decodes it: the count only on the last, the timestamp only on the first. */
function wire(messageId: number, index: number, count: number, byte: number): DataFrame {
  return {
    kind: 'data', flags: DATA_FLAG_REFERENCE, streamId: 0, messageId, fragIndex: index, fragCount: index === count - 1 ? count : 0,
    deadlineOffset: 500, timestamp: index === 0 ? 1234 : 0, fecGroup: 0, fecIndex: 0, payload: Uint8Array.of(byte, byte),
  };
}

test('fragments in any order make the message once its last and first have come; the timestamp is the first\'s', () => {
  for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]]) {
    const s = new RecvStream(0, { class: 'video', reliability: 'deadline', priority: 0 });
    const out: Delivered[] = [];
    for (const [k, i] of order.entries()) {
      assert.equal(s.onData(0, wire(7, i!, 3, i!), 1e6, out), undefined);
      assert.equal(out.length, k === 2 ? 1 : 0, `order ${order}`);
    }
    assert.deepEqual([...out[0]!.data], [0, 0, 1, 1, 2, 2]);
    assert.equal(out[0]!.meta.timestamp, 1234);
    assert.equal(s.buffered, 0);
  }
});

test('a lying count is refused: two different last fragments, or a fragment beyond the last', () => {
  const s = new RecvStream(0, { class: 'video', reliability: 'deadline', priority: 0 });
  const out: Delivered[] = [];
  assert.equal(s.onData(0, wire(1, 4, 10, 4), 1e6, out), undefined);
  assert.equal(s.onData(0, wire(1, 2, 3, 2), 1e6, out), 'bad-fragment'); // says 3, index 4 is held
  assert.equal(s.onData(0, wire(1, 9, 10, 9), 1e6, out), undefined);
  assert.equal(s.onData(0, wire(1, 11, 12, 11), 1e6, out), 'bad-fragment'); // a second, different count
  assert.equal(s.onData(0, wire(1, 10, 20, 0), 1e6, out), 'bad-fragment'); // beyond the count
  assert.equal(out.length, 0);
  // The deadline still bounds it: expired and forgotten, buffer back to zero.
  s.expire(10_000);
  assert.equal(s.buffered, 0);
});
