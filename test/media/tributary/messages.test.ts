import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodecConfig, MediaFrame } from '../../../src/media/frame.js';
import { MediaParseError } from '../../../src/media/frame.js';
import {
  decodeMessage,
  encodeConfig,
  encodeFrame,
  encodeHello,
  encodeMetadata,
  encodeText,
} from '../../../src/media/tributary/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('a video frame has the documented byte layout and round-trips', () => {
  const f: MediaFrame = {
    kind: 'video', codec: 'h264', dts: 1000, pts: 1040, keyframe: true, reference: true,
    data: Uint8Array.of(0, 0, 0, 1, 0x65), captureTime: 1_700_000_000_123,
  };
  const b = encodeFrame(f);
  assert.equal(
    hex(b),
    '11' + '01' + '07' + '408f400000000000' + '4044000000000000' + hex(new Uint8Array(new Float64Array([1_700_000_000_123]).buffer).reverse()) + '0000000165',
  );
  assert.deepEqual(decodeMessage(b), { type: 'frame', frame: f });
});

test('an audio frame without captureTime and a 90 kHz dts round-trips exactly', () => {
  const f: MediaFrame = { kind: 'audio', codec: 'aac', dts: 12345 / 90, pts: 12345 / 90, keyframe: false, reference: true, data: Uint8Array.of(1, 2, 3) };
  const m = decodeMessage(encodeFrame(f));
  assert.deepEqual(m, { type: 'frame', frame: f });
});

test('configs round-trip with every optional field and with none', () => {
  const full: CodecConfig = {
    kind: 'video', codec: 'h264', data: Uint8Array.of(1, 0x64, 0, 0x1f), width: 1280, height: 720,
    codecString: 'avc1.64001f', profile: 'High', level: 31,
  };
  assert.deepEqual(decodeMessage(encodeConfig(full)), { type: 'config', config: full });
  const audio: CodecConfig = { kind: 'audio', codec: 'aac', data: Uint8Array.of(0x12, 0x10), sampleRate: 44100, channels: 2 };
  assert.deepEqual(decodeMessage(encodeConfig(audio)), { type: 'config', config: audio });
  const bare: CodecConfig = { kind: 'audio', codec: 'opus', data: new Uint8Array(0) };
  assert.deepEqual(decodeMessage(encodeConfig(bare)), { type: 'config', config: bare });
});

test('metadata, hello, welcome, refuse and end round-trip', () => {
  assert.deepEqual(decodeMessage(encodeMetadata({ width: 1280, encoder: 'x' })), { type: 'metadata', values: { width: 1280, encoder: 'x' } });
  assert.equal(hex(encodeHello('publish', 'live', 'k')), '1801046c697665016b');
  assert.deepEqual(decodeMessage(encodeHello('play', 'live', 'key')), { type: 'hello', role: 'play', app: 'live', key: 'key' });
  assert.deepEqual(decodeMessage(encodeText('welcome', 'ok')), { type: 'welcome', note: 'ok' });
  assert.deepEqual(decodeMessage(encodeText('refuse', 'bad token')), { type: 'refuse', reason: 'bad token' });
  assert.deepEqual(decodeMessage(encodeText('end', 'x'.repeat(400))), { type: 'end', reason: 'x'.repeat(255) });
});

test('a hello may ask for a quality, with or without a latency; a bad one is refused both ways', () => {
  assert.deepEqual(decodeMessage(encodeHello('play', 'live', 'k', undefined, 'auto')), { type: 'hello', role: 'play', app: 'live', key: 'k', quality: 'auto' });
  assert.deepEqual(decodeMessage(encodeHello('play', 'live', 'k', 800, 'lo')), { type: 'hello', role: 'play', app: 'live', key: 'k', latencyMs: 800, quality: 'lo' });
  // Without a quality the bytes are what servers from before the field accept.
  assert.equal(hex(encodeHello('play', 'live', 'k', 600)), hex(encodeHello('play', 'live', 'k', 600, undefined)));
  for (const q of ['', 'a b', 'x'.repeat(33), '../x', 'hi\u0000']) assert.throws(() => encodeHello('play', 'live', 'k', undefined, q), RangeError);
  const withQ = (q: string): Uint8Array => {
    const base = encodeHello('play', 'live', 'k', 600);
    const qb = new TextEncoder().encode(q);
    return new Uint8Array([...base, qb.length, ...qb]);
  };
  assert.throws(() => decodeMessage(withQ('a/b')), MediaParseError);
  assert.throws(() => decodeMessage(withQ('')), MediaParseError);
  // A zero latency is the default only when a quality follows.
  assert.throws(() => decodeMessage(encodeHello('play', 'live', 'k', 600).map((b, i, a) => (i >= a.length - 2 ? 0 : b))), MediaParseError);
  const lyingLength = withQ('auto');
  lyingLength[lyingLength.length - 5] = 200; // str8 length past the end
  assert.throws(() => decodeMessage(lyingLength), MediaParseError);
});

test('lies are refused: wrong version, kind/codec mismatch, absurd times, oversize payloads and configs', () => {
  const f: MediaFrame = { kind: 'video', codec: 'h264', dts: 0, pts: 0, keyframe: true, reference: true, data: new Uint8Array(100) };
  const good = encodeFrame(f);
  const bad = (mut: (b: Uint8Array) => void, limits?: Parameters<typeof decodeMessage>[1]): void => {
    const b = good.slice();
    mut(b);
    assert.throws(() => decodeMessage(b, limits), MediaParseError);
  };
  bad((b) => (b[0] = 0x21)); // version 2
  bad((b) => (b[2] = 0x13)); // kind audio with codec h264
  bad((b) => new DataView(b.buffer).setFloat64(3, 1e15)); // dts
  bad((b) => new DataView(b.buffer).setFloat64(3, NaN));
  bad((b) => new DataView(b.buffer).setFloat64(11, 120_000)); // cts
  bad(() => {}, { maxFrameBytes: 50, maxConfigBytes: 10 });
  assert.throws(() => decodeMessage(good.subarray(0, 10)), MediaParseError);
  const cfg = encodeConfig({ kind: 'video', codec: 'h264', data: new Uint8Array(20) });
  const lying = cfg.slice();
  new DataView(lying.buffer).setUint32(4, 0xffffffff); // length far beyond the message
  assert.throws(() => decodeMessage(lying), MediaParseError);
  assert.throws(() => decodeMessage(cfg, { maxFrameBytes: 1 << 20, maxConfigBytes: 10 }), MediaParseError);
  assert.throws(() => decodeMessage(new Uint8Array(0)), MediaParseError);
  assert.throws(() => decodeMessage(Uint8Array.of(0x13, 0x5b, 0x5d)), MediaParseError); // metadata array
});
