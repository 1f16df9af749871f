import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Amf0EcmaArray, decodeAmf0, decodeAmf0Value, encodeAmf0 } from '../../src/media/amf0.js';
import { MediaParseError } from '../../src/media/frame.js';
import { xorshift as rng } from '../fuzz.js';

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

test('round-trips every value kind', () => {
  const date = new Date(1_700_000_000_000);
  const values = [
    'connect',
    1,
    { app: 'live', tcUrl: 'rtmp://h/live', nested: { a: [1, 'x', null, true] } },
    null,
    undefined,
    false,
    new Amf0EcmaArray({ width: 320, height: 240, encoder: 'Lavf' }),
    [1, 2, 3],
    date,
    'x'.repeat(70_000),
    -0.5,
  ];
  const out = decodeAmf0(encodeAmf0(...values));
  assert.equal(out.length, values.length);
  assert.equal(out[0], 'connect');
  assert.equal(out[1], 1);
  assert.deepEqual(plain(out[2]), plain(values[2]));
  assert.equal(out[3], null);
  assert.equal(out[4], undefined);
  assert.equal(out[5], false);
  assert.deepEqual(plain(out[6]), { width: 320, height: 240, encoder: 'Lavf' });
  assert.deepEqual(out[7], [1, 2, 3]);
  assert.equal((out[8] as Date).getTime(), date.getTime());
  assert.equal(out[9], 'x'.repeat(70_000));
  assert.equal(out[10], -0.5);
});

test('decodes known bytes: ffmpeg-style connect and an ECMA array with a wrong count', () => {
  const bytes = new Uint8Array([
    0x02, 0x00, 0x07, ...Buffer.from('connect'),
    0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
    0x03, 0x00, 0x03, ...Buffer.from('app'), 0x02, 0x00, 0x04, ...Buffer.from('live'), 0x00, 0x00, 0x09,
    0x08, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x61, 0x01, 0x01, 0x00, 0x00, 0x09,
  ]);
  const [name, tx, obj, ecma] = decodeAmf0(bytes);
  assert.equal(name, 'connect');
  assert.equal(tx, 1);
  assert.equal((obj as Record<string, unknown>).app, 'live');
  assert.equal((ecma as Record<string, unknown>).a, true);
  const one = decodeAmf0Value(bytes, 0);
  assert.equal(one.value, 'connect');
  assert.equal(one.end, 10);
});

test('a __proto__ key does not touch the prototype', () => {
  const bytes = new Uint8Array([0x03, 0x00, 0x09, ...Buffer.from('__proto__'), 0x05, 0x00, 0x00, 0x09]);
  const [obj] = decodeAmf0(bytes) as [Record<string, unknown>];
  assert.equal(Object.getPrototypeOf(obj), null);
  assert.equal(obj['__proto__'], null);
});

test('refuses lying lengths, deep nesting, huge arrays and unknown markers', () => {
  const bad: Array<[string, number[]]> = [
    ['string longer than buffer', [0x02, 0xff, 0xff, 0x41]],
    ['long string longer than buffer', [0x0c, 0xff, 0xff, 0xff, 0xff, 0x41]],
    ['strict array count beyond buffer', [0x0a, 0xff, 0xff, 0xff, 0xff, 0x05]],
    ['truncated number', [0x00, 1, 2]],
    ['unterminated object', [0x03, 0x00, 0x01, 0x61, 0x05]],
    ['unknown marker', [0x42]],
    ['reference', [0x07, 0x00, 0x01]],
    ['stray object end', [0x09]],
    ['deep nesting', Array.from({ length: 100 }, () => [0x0a, 0, 0, 0, 1]).flat()],
  ];
  for (const [what, bytes] of bad) {
    assert.throws(() => decodeAmf0(new Uint8Array(bytes)), MediaParseError, what);
  }
  const many = new Uint8Array(5 + 20_000);
  many.set([0x0a, 0, 0, 0x4e, 0x20]);
  many.fill(0x05, 5);
  assert.throws(() => decodeAmf0(many), /values/);
});


test('fuzz: 1,000,000 mutated command payloads throw only MediaParseError', () => {
  const seeds = [
    encodeAmf0('connect', 1, { app: 'live', flashVer: 'FMLE/3.0', tcUrl: 'rtmp://127.0.0.1/live', fpad: false, capabilities: 15, audioCodecs: 3191, videoCodecs: 252, videoFunction: 1 }),
    encodeAmf0('@setDataFrame', 'onMetaData', new Amf0EcmaArray({ width: 320, height: 240, framerate: 30, videocodecid: 7, encoder: 'Lavf61', list: [1, 'a', { b: null }] })),
    encodeAmf0('_result', 1, null, { level: 'status', code: 'NetStream.Publish.Start', when: new Date(0) }),
  ];
  const rand = rng(0xa3f0);
  const N = 1_000_000;
  let ok = 0;
  let refused = 0;
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const started = performance.now();
  try {
    for (let i = 0; i < N; i++) {
      const base = seeds[i % seeds.length]!;
      let buf = base.slice();
      const kind = i % 4;
      if (kind === 0) for (let k = 0; k < 1 + (i % 3); k++) buf[Math.floor(rand() * buf.length)]! ^= 1 << Math.floor(rand() * 8);
      else if (kind === 1) buf = buf.subarray(0, Math.floor(rand() * buf.length));
      else if (kind === 2) {
        const p = Math.floor(rand() * (buf.length - 4));
        buf[p] = 0xff;
        buf[p + 1] = rand() < 0.5 ? 0xff : 0x7f;
      } else for (let k = 0; k < buf.length; k++) buf[k] = Math.floor(rand() * 256) & (rand() < 0.5 ? 0x0f : 0xff);
      try {
        decodeAmf0(buf);
        ok++;
      } catch (err) {
        if (!(err instanceof MediaParseError)) throw err;
        refused++;
      }
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  const ms = performance.now() - started;
  console.log(`amf0 fuzz: ${N} inputs (${ok} decoded, ${refused} refused) in ${ms.toFixed(0)} ms`);
  assert.equal(ok + refused, N);
  assert.ok(refused > 0 && ok > 0);
});
