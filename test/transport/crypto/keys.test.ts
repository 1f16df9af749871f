import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyPairFromSeed, sharedSecret } from '../../../src/transport/crypto/keys.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

test('X25519 key pairs from seeds and shared secrets match RFC 7748 section 6.1', () => {
  const alice = keyPairFromSeed(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
  const bob = keyPairFromSeed(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
  assert.equal(Buffer.from(alice.publicKey).toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  assert.equal(Buffer.from(bob.publicKey).toString('hex'), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  assert.equal(Buffer.from(sharedSecret(alice.privateKey, bob.publicKey)!).toString('hex'), k);
  assert.equal(Buffer.from(sharedSecret(bob.privateKey, alice.publicKey)!).toString('hex'), k);
});

test('a peer public key of the wrong length or a low-order point gives no secret', () => {
  const a = keyPairFromSeed(new Uint8Array(32).fill(7));
  assert.equal(sharedSecret(a.privateKey, new Uint8Array(31)), undefined);
  assert.equal(sharedSecret(a.privateKey, new Uint8Array(32)), undefined);
});
