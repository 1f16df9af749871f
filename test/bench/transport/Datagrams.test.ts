import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameAssembler, cutFrame, parseDatagram, DATAGRAM_BYTES } from '../../../src/bench/transport/Datagrams.js';
import { Prng } from '../../../src/emulator/Prng.js';

test('a frame cut into 1316-byte datagrams completes when the last distinct piece arrives', () => {
  const parts = cutFrame(7, 5000, 123.5);
  assert.equal(parts.length, 4);
  assert.ok(parts.slice(0, 3).every((p) => p.length === DATAGRAM_BYTES));
  assert.deepEqual(parseDatagram(parts[2]!), { id: 7, index: 2, count: 4, capture: 123.5 });
  const a = new FrameAssembler();
  a.onDatagram(1, parts[3]!);
  a.onDatagram(2, parts[3]!);
  a.onDatagram(3, parts[0]!);
  a.onDatagram(4, parts[1]!);
  assert.equal(a.complete.has(7), false);
  a.onDatagram(5, parts[2]!);
  assert.equal(a.complete.get(7), 5);
});

test('fuzz: mutated and random datagrams never throw', () => {
  const rng = new Prng(9);
  const a = new FrameAssembler();
  const base = cutFrame(1, 3000, 0);
  let n = 0;
  for (; n < 100_000; n++) {
    const src = base[n % base.length]!;
    let d: Buffer;
    const mode = n % 3;
    if (mode === 0) {
      d = Buffer.from(src);
      d[Math.floor(rng.next() * d.length)]! ^= 1 << Math.floor(rng.next() * 8);
    } else if (mode === 1) d = src.subarray(0, Math.floor(rng.next() * src.length));
    else d = Buffer.from(Array.from({ length: Math.floor(rng.next() * 40) }, () => Math.floor(rng.next() * 256)));
    a.onDatagram(n, d);
  }
  console.log(`bench datagram fuzz: ${n} inputs, ${a.invalid} refused`);
  assert.ok(a.invalid > 0);
});
