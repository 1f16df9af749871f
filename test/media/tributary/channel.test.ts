import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaParseError } from '../../../src/media/frame.js';
import { CHANNEL_FLAG_BACKUP, decodeChannel, decodeMessage, encodeHello, encodeOnChannel } from '../../../src/media/tributary/index.js';

test('a message on a channel comes back with its channel and flags', () => {
  const hello = encodeHello('play', 'live', 'cam', 600);
  for (const ch of [0, 1, 0x1234, 0xffff]) {
    const d = decodeChannel(encodeOnChannel(ch, hello, CHANNEL_FLAG_BACKUP));
    assert.equal(d.channel, ch);
    assert.equal(d.flags, CHANNEL_FLAG_BACKUP);
    assert.deepEqual(decodeMessage(d.message), { type: 'hello', role: 'play', app: 'live', key: 'cam', latencyMs: 600 });
  }
});

test('a channel message with no room for a message is refused with a parse error', () => {
  for (const n of [0, 1, 2, 3]) assert.throws(() => decodeChannel(new Uint8Array(n)), MediaParseError);
  assert.throws(() => encodeOnChannel(0x10000, new Uint8Array(1)), RangeError);
  assert.throws(() => encodeOnChannel(-1, new Uint8Array(1)), RangeError);
});

test('random bytes never throw anything but a parse error', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 5000; i++) {
    const b = new Uint8Array(rnd() % 40);
    for (let j = 0; j < b.length; j++) b[j] = rnd();
    try {
      decodeMessage(decodeChannel(b).message);
    } catch (e) {
      assert.ok(e instanceof MediaParseError, String(e));
    }
  }
});
