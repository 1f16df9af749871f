import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaParseError } from '../../../src/media/frame.js';
import { decodeMessage, encodeConfig, encodeFrame, encodeHello, encodeMetadata, encodeText } from '../../../src/media/tributary/index.js';
import { xorshift as prng } from '../../fuzz.js';


test('1,000,000 mutated messages: decode returns or throws MediaParseError, nothing else', () => {
  const seeds = [
    encodeFrame({ kind: 'video', codec: 'h264', dts: 33.3, pts: 100, keyframe: true, reference: true, data: new Uint8Array(40).fill(7), captureTime: 5e11 }),
    encodeFrame({ kind: 'audio', codec: 'opus', dts: 20, pts: 20, keyframe: false, reference: true, data: new Uint8Array(8) }),
    encodeConfig({ kind: 'video', codec: 'hevc', data: new Uint8Array(30).fill(1), width: 1920, height: 1080, codecString: 'hvc1.1.6.L93.B0', profile: 'Main', level: 93 }),
    encodeConfig({ kind: 'audio', codec: 'aac', data: Uint8Array.of(0x12, 0x10), sampleRate: 48000, channels: 2 }),
    encodeMetadata({ width: 1, height: 2, title: 'x' }),
    encodeHello('publish', 'live', 'mykey'),
    encodeText('refuse', 'token invalid'),
  ];
  const rnd = prng(0x7b1b);
  const N = 1_000_000;
  const start = performance.now();
  let ok = 0;
  let refused = 0;
  const buf = new Uint8Array(256);
  for (let i = 0; i < N; i++) {
    const seed = seeds[i % seeds.length]!;
    let len = seed.length;
    buf.set(seed);
    const op = (rnd() * 5) | 0;
    if (op === 0) {
      for (let k = 1 + ((rnd() * 4) | 0); k > 0; k--) buf[(rnd() * len) | 0]! ^= 1 << ((rnd() * 8) | 0);
    } else if (op === 1) {
      len = (rnd() * len) | 0;
    } else if (op === 2) {
      // lying lengths and counts: write a big-endian extreme at a random offset
      const at = (rnd() * Math.max(1, len - 4)) | 0;
      const v = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000, 0][(rnd() * 5) | 0]!;
      new DataView(buf.buffer).setUint32(at, v);
    } else if (op === 3) {
      len = (rnd() * buf.length) | 0;
      for (let k = 0; k < len; k++) buf[k] = (rnd() * 256) | 0;
      if (rnd() < 0.7 && len > 0) buf[0] = 0x10 | ((rnd() * 12) | 0);
    } else {
      const extra = (rnd() * 40) | 0;
      for (let k = 0; k < extra && len < buf.length; k++) buf[len++] = (rnd() * 256) | 0;
    }
    try {
      decodeMessage(buf.subarray(0, len));
      ok++;
    } catch (e) {
      if (!(e instanceof MediaParseError)) throw e;
      refused++;
    }
  }
  const ms = performance.now() - start;
  console.log(`tributary framing fuzz: ${N} mutated messages in ${ms.toFixed(0)} ms (${ok} decoded, ${refused} refused)`);
  assert.equal(ok + refused, N);
  assert.ok(refused > N / 10 && ok > N / 100, 'mutations must exercise both paths');
});
