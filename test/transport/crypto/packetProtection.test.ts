import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PACKET_NUMBER, NonceReuseError, PacketProtection } from '../../../src/transport/crypto/PacketProtection.js';

const key = new Uint8Array(32).fill(1);
const iv = new Uint8Array(12).fill(2);

test('sealing refuses a packet number that is not above the last one, or past 2^32 - 1', () => {
  const p = new PacketProtection(key, iv, key, iv);
  const buf = new Uint8Array(64);
  p.seal(buf, 5, 16, 32);
  assert.throws(() => p.seal(buf, 5, 16, 32), NonceReuseError);
  assert.throws(() => p.seal(buf, 4, 16, 32), NonceReuseError);
  p.seal(buf, MAX_PACKET_NUMBER, 16, 32);
  assert.throws(() => p.seal(buf, MAX_PACKET_NUMBER + 1, 16, 32), NonceReuseError);
  // 2^32 would put the same nonce as 0 on the wire (the number is 32 bits there)
  const q = new PacketProtection(key, iv, key, iv);
  assert.throws(() => q.seal(buf, 2 ** 32, 16, 32), NonceReuseError);
});

test('a sealed packet opens with the same number and not with another', () => {
  const tx = new PacketProtection(key, iv, key, iv);
  const buf = new Uint8Array(64).fill(9);
  const end = tx.seal(buf, MAX_PACKET_NUMBER, 16, 32);
  const rx = new PacketProtection(key, iv, key, iv);
  assert.equal(rx.open(buf.slice(), MAX_PACKET_NUMBER - 1, 16, end), false);
  assert.equal(rx.open(buf, MAX_PACKET_NUMBER, 16, end), true);
});
