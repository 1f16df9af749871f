import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, FrameTooLargeError, encodeFrame } from '../../src/net/Framing.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('frames split at every byte boundary come out whole and in order', () => {
  const frames = [Uint8Array.of(1), new Uint8Array(1500).fill(7), Uint8Array.of(2, 3, 4)];
  const wire = Buffer.concat(frames.map(encodeFrame));
  for (let cut = 0; cut <= wire.length; cut++) {
    const out: number[][] = [];
    const d = new FrameDecoder(1500);
    d.push(wire.subarray(0, cut), (f) => out.push([...f]));
    d.push(wire.subarray(cut), (f) => out.push([...f]));
    assert.deepEqual(out, frames.map((f) => [...f]));
  }
});

test('a length of 0 or over the max is refused before buffering', () => {
  assert.throws(() => new FrameDecoder(1500).push(Uint8Array.of(0x05, 0xdd), () => {}), FrameTooLargeError);
  assert.throws(() => new FrameDecoder(1500).push(Uint8Array.of(0, 0), () => {}), FrameTooLargeError);
  assert.throws(() => new FrameDecoder(1500).push(Uint8Array.of(0xff, 0xff, 1, 2), () => {}), FrameTooLargeError);
});

test('fuzz: mutated framed streams never throw anything but FrameTooLargeError nor yield a frame over the max', () => {
  const r = rng(42);
  let runs = 0, frames = 0, refused = 0;
  for (let i = 0; i < 20_000; i++) {
    const parts: Uint8Array[] = [];
    for (let k = 0; k < 4; k++) parts.push(encodeFrame(new Uint8Array(1 + Math.floor(r() * 1500)).map(() => (r() * 256) | 0)));
    const wire = Buffer.concat(parts);
    const muts = 1 + Math.floor(r() * 4);
    for (let m = 0; m < muts; m++) {
      const at = Math.floor(r() * wire.length);
      const op = r();
      if (op < 0.5) wire[at]! ^= 1 << Math.floor(r() * 8);
      else if (op < 0.8) wire[at] = (r() * 256) | 0;
      else wire.writeUInt16BE((r() * 65536) | 0, Math.min(at, wire.length - 2));
    }
    const cut = Math.floor(r() * wire.length);
    const d = new FrameDecoder(1500);
    try {
      d.push(wire.subarray(0, cut), (f) => {
        frames++;
        assert.ok(f.length >= 1 && f.length <= 1500);
      });
      d.push(wire.subarray(cut, Math.floor(wire.length * (0.5 + r() / 2))), (f) => {
        frames++;
        assert.ok(f.length >= 1 && f.length <= 1500);
      });
    } catch (e) {
      assert.ok(e instanceof FrameTooLargeError, String(e));
      refused++;
    }
    runs++;
  }
  console.log(`framing fuzz: ${runs} mutated streams, ${frames} frames out, ${refused} refused`);
  assert.equal(runs, 20_000);
});
