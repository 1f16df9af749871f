import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pair, messages } from './Pair.js';

function payload(i: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let j = 0; j < size; j++) b[j] = (i * 31 + j) & 0xff;
  new DataView(b.buffer).setUint32(0, i);
  return b;
}

test('random loss, reordering and duplication never corrupt, reorder or duplicate the reliable stream', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.double({ min: 0, max: 0.2, noNaN: true }),
      fc.double({ min: 0, max: 0.3, noNaN: true }),
      fc.double({ min: 0, max: 0.2, noNaN: true }),
      (seed, loss, reorder, duplicate) => {
        const link = { delayMs: 20, loss, reorder, reorderExtraMs: 15, duplicate };
        const p = new Pair({ seed, up: link, down: link });
        p.connect();
        const id = p.client.openStream(p.now, { class: 'control', reliability: 'reliable', priority: 0 });
        const sizes: number[] = [];
        for (let i = 0; i < 40; i++) {
          const size = 4 + ((i * 977) % 4000);
          sizes.push(size);
          assert.ok(p.client.send(p.now, id, payload(i, size)));
        }
        p.run(p.now + 60_000, () => messages(p.serverEvents, id).length >= 40);
        const got = messages(p.serverEvents, id);
        assert.equal(got.length, 40, `seed ${seed} loss ${loss}`);
        got.forEach((m, i) => assert.deepEqual(m.data, payload(i, sizes[i]!)));
      },
    ),
    { numRuns: 12, seed: 42 },
  );
});

test('a deadline stream delivers each message at most once under duplication and reordering', () => {
  const link = { delayMs: 30, loss: 0.05, reorder: 0.2, reorderExtraMs: 25, duplicate: 0.2 };
  const p = new Pair({ seed: 7, up: link, down: link });
  p.connect();
  const id = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  for (let i = 0; i < 100; i++) {
    p.client.send(p.now, id, payload(i, 3000), { deadline: p.now + 2000, timestamp: i });
    p.run(p.now + 33);
  }
  p.run(p.now + 3000);
  const ts = messages(p.serverEvents, id).map((m) => m.meta.timestamp);
  assert.equal(new Set(ts).size, ts.length);
  assert.ok(ts.length >= 95, `delivered ${ts.length}/100`);
});
