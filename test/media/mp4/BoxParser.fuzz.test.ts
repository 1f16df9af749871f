import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaParseError, type MediaFrame } from '../../../src/media/frame.js';
import { Fmp4Muxer } from '../../../src/media/mp4/Fmp4Muxer.js';
import { demuxFmp4 } from '../../../src/media/mp4/Fmp4Demuxer.js';
import { parseBoxes } from '../../../src/media/mp4/BoxParser.js';
import { trackFromConfig } from '../../../src/media/mp4/track.js';
import { encodeSource } from './source.js';
import { xorshift as rng, concat } from '../../fuzz.js';

/** A small valid file (init + two fragments, sample data cut short) so each mutation is cheap. */
function seed(): Uint8Array {
  const src = encodeSource({ seconds: 1, gop: 10, bframes: 2 });
  const muxer = new Fmp4Muxer([trackFromConfig(1, src.video)!, trackFromConfig(2, src.audio)!]);
  const parts = [muxer.initSegment()];
  const frames: MediaFrame[] = src.frames.slice(0, 8).map((f) => ({ ...f, data: f.data.subarray(0, 16) }));
  frames.forEach((f, i) => {
    muxer.push(f);
    if (i === 4) parts.push(muxer.flush());
  });
  parts.push(muxer.flushAll());
  return concat(parts);
}


test('box parser and demuxer survive 1,000,000 mutated files with only MediaParseError', () => {
  const base = seed();
  assert.ok(demuxFmp4(base).outputs.length >= 8, 'the seed itself demuxes');
  const boxStarts: number[] = [];
  const walk = (boxes: ReturnType<typeof parseBoxes>) => boxes.forEach((b) => (boxStarts.push(b.start), b.children && walk(b.children)));
  walk(parseBoxes(base));
  const rand = rng(0x5eed);
  const work = new Uint8Array(base.length + 64);
  const N = 1_000_000;
  let parsed = 0;
  let refused = 0;
  // Stack capture dominates the cost of a refused input; the loop needs the error class, not the trace.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const started = performance.now();
  try {
    for (let i = 0; i < N; i++) {
      work.set(base);
      let len = base.length;
      const kind = i % 5;
      if (kind === 0) {
        // bit flips
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips; k++) work[Math.floor(rand() * len)]! ^= 1 << Math.floor(rand() * 8);
      } else if (kind === 1) {
        len = Math.floor(rand() * len); // truncation
      } else if (kind === 2) {
        // a lying size in a box header (or a 64-bit size marker, or zero)
        const at = boxStarts[Math.floor(rand() * boxStarts.length)]!;
        const choice = rand();
        const v = choice < 0.2 ? 0 : choice < 0.4 ? 1 : choice < 0.6 ? 0xffffffff : Math.floor(rand() * (base.length * 2));
        work[at] = v >>> 24;
        work[at + 1] = (v >>> 16) & 0xff;
        work[at + 2] = (v >>> 8) & 0xff;
        work[at + 3] = v & 0xff;
      } else if (kind === 3) {
        // a random 32-bit value anywhere (counts, offsets, flags)
        const at = Math.floor(rand() * (len - 4));
        const v = Math.floor(rand() * 0x100000000);
        work[at] = v >>> 24;
        work[at + 1] = (v >>> 16) & 0xff;
        work[at + 2] = (v >>> 8) & 0xff;
        work[at + 3] = v & 0xff;
      } else {
        // a run of random bytes
        const at = Math.floor(rand() * len);
        const n = Math.min(len - at, 1 + Math.floor(rand() * 32));
        for (let k = 0; k < n; k++) work[at + k] = Math.floor(rand() * 256);
      }
      try {
        demuxFmp4(work.subarray(0, len));
        parsed++;
      } catch (err) {
        if (!(err instanceof MediaParseError)) {
          throw new Error(`mutation ${i} (kind ${kind}) threw ${String(err)}`);
        }
        refused++;
      }
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`fmp4 fuzz: ${N} mutated inputs in ${seconds.toFixed(1)} s (${parsed} parsed, ${refused} refused)`);
  assert.equal(parsed + refused, N);
  assert.ok(refused > 0 && parsed > 0);
});

test('nesting deeper than the limit and absurd box counts are refused', () => {
  const depth = 40;
  const buf = new Uint8Array(depth * 8);
  for (let i = 0; i < depth; i++) {
    const size = (depth - i) * 8;
    buf.set([size >>> 24, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff, 0x6d, 0x6f, 0x6f, 0x76], i * 8); // 'moov'
  }
  assert.throws(() => parseBoxes(buf), /nested deeper/);
  const many = new Uint8Array(8 * 1000);
  for (let i = 0; i < 1000; i++) many.set([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65], i * 8); // 'free'
  assert.throws(() => parseBoxes(many, 0, many.length, { maxDepth: 4, maxBoxes: 500 }), /more than 500 boxes/);
  assert.equal(parseBoxes(many).length, 1000);
});

test('a 64-bit size is read, and one past the buffer is refused', () => {
  const b = new Uint8Array(24);
  b.set([0, 0, 0, 1, 0x66, 0x72, 0x65, 0x65, 0, 0, 0, 0, 0, 0, 0, 24]);
  assert.deepEqual(parseBoxes(b).map((x) => [x.type, x.payload, x.end]), [['free', 16, 24]]);
  b[15] = 25;
  assert.throws(() => parseBoxes(b), MediaParseError);
});
