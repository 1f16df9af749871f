import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, messages } from './Pair.js';
import { SeededRandom } from '../../src/transport/index.js';
import { fingerprint, keyPairFromSeed } from '../../src/transport/crypto/keys.js';
import { refuseDatagram } from '../../src/transport/Handshake.js';
import { PacketProtection } from '../../src/transport/crypto/PacketProtection.js';

const serverKey = keyPairFromSeed(new SeededRandom(42).bytes(32));
const pin = (fp: string) => (key: Uint8Array) => (fingerprint(key) === fp ? undefined : `server key ${fingerprint(key)} is not the pinned ${fp}`);
const closedReason = (p: Pair): string | undefined => {
  const e = p.clientEvents.find((x) => x.type === 'closed');
  return e && e.type === 'closed' ? e.reason : undefined;
};

test('a client that pins the server key connects to the server holding it', () => {
  const p = new Pair({ server: { staticKey: serverKey }, client: { checkServerKey: pin(fingerprint(serverKey.publicKey)) } });
  p.connect();
  const id = p.client.openStream(p.now, { class: 'control', reliability: 'reliable', priority: 0 });
  p.client.send(p.now, id, new Uint8Array([1]));
  p.run(p.now + 500, () => messages(p.serverEvents).length > 0);
  assert.equal(messages(p.serverEvents).length, 1);
});

test('open stream, pinned key: a man in the middle with the public psk and his own static key is refused with the reason', () => {
  const mitm = keyPairFromSeed(new SeededRandom(43).bytes(32));
  const p = new Pair({ server: { staticKey: mitm }, client: { checkServerKey: pin(fingerprint(serverKey.publicKey)) } });
  p.run(5000);
  assert.ok(!p.clientEvents.some((e) => e.type === 'connected'));
  assert.match(closedReason(p) ?? '', /is not the pinned/);
  assert.equal(p.client.stats().state, 'closed');
  assert.ok(!p.serverEvents.some((e) => e.type === 'connected'));
});

test('a man in the middle who names the real server key without its private half cannot make the MAC', () => {
  const mitm = keyPairFromSeed(new SeededRandom(43).bytes(32));
  // His SERVER HELLO carries the genuine static public key; his es comes from his own private key.
  const p = new Pair({ server: { staticKey: { privateKey: mitm.privateKey, publicKey: serverKey.publicKey } }, client: { checkServerKey: pin(fingerprint(serverKey.publicKey)) } });
  p.run(5000);
  assert.ok(!p.clientEvents.some((e) => e.type === 'connected'));
  assert.ok((p.client.stats().dropped['auth'] ?? 0) >= 1);
});

test('a client asking less than the server minimum gets a REFUSE with the reason, and no session is kept', () => {
  const p = new Pair({ server: { encryption: 'headers' }, client: { encryption: 'none' } });
  p.run(3000, () => p.client.stats().state === 'closed');
  assert.equal(p.client.stats().state, 'closed');
  assert.equal(closedReason(p), "refused by the server: encryption 'none' is below this server's minimum 'headers'");
  assert.equal(p.client.stats().packetsSent, 1, 'one INITIAL, answered at once (no retry, no timeout)');
  assert.equal(p.server.dropped['weak-encryption'], 1);
  assert.equal(p.server.sessionCount, 0);
  assert.equal(p.server.retriesSent, 0);
});

test('a client asking at least the minimum connects in the mode it asked for', () => {
  const p = new Pair({ server: { encryption: 'headers' }, client: { encryption: 'all' } });
  p.connect();
  assert.equal(p.client.stats().encryption, 'all');
  assert.equal(p.server.dropped['weak-encryption'], undefined);
});

test('a REFUSE after the handshake, or for another session, changes nothing', () => {
  const p = new Pair();
  p.connect();
  p.client.handleDatagram(p.now, 'default', refuseDatagram(p.client.id, 4, 'forged'));
  p.client.handleDatagram(p.now, 'default', refuseDatagram(p.client.id ^ 1n, 4, 'forged'));
  assert.equal(p.client.stats().state, 'connected');
  assert.equal(p.client.stats().dropped['unexpected-refuse'], 1);
  assert.equal(p.client.stats().dropped['wrong-session'], 1);
});

test('packet numbers near 2^32: no nonce repeats under a key and the session closes before wrapping', () => {
  // Every seal, by key (one PacketProtection per direction and session), seen from the inside:
  // the wire may carry truncated numbers, the nonce is built from the whole one.
  const sealed = new Map<PacketProtection, number[]>();
  const seal = PacketProtection.prototype.seal;
  PacketProtection.prototype.seal = function (this: PacketProtection, buf, pn, aadEnd, end) {
    if (!sealed.has(this)) sealed.set(this, []);
    sealed.get(this)!.push(pn);
    return seal.call(this, buf, pn, aadEnd, end);
  };
  try {
    const start = 2 ** 32 - 400;
    const p = new Pair({ client: { firstPacketNumber: start } });
    p.connect();
    const id = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
    for (let i = 0; i < 100 && p.client.stats().state !== 'closed'; i++) {
      p.client.send(p.now, id, new Uint8Array(6000).fill(i), { deadline: p.now + 1000, keyframe: i === 0 });
      p.run(p.now + 20);
    }
    p.run(p.now + 2000, () => p.client.stats().state === 'closed');
    assert.equal(p.client.stats().state, 'closed');
    assert.match(closedReason(p) ?? '', /packet numbers used up/);
    const client = [...sealed.values()].find((pns) => pns[0]! >= start)!;
    assert.ok(client.length > 300, `${client.length} client packets`);
    assert.equal(new Set(client).size, client.length, 'a packet number (nonce) repeated');
    assert.ok(client.every((n, i) => n <= 2 ** 32 - 1 && (i === 0 || n > client[i - 1]!)));
    // the server heard the CLOSE: its session ended too, told by the peer
    p.run(p.now + 500);
    assert.ok(p.serverEvents.some((e) => e.type === 'closed' && e.byPeer), 'the server got the CLOSE');
    assert.ok(messages(p.serverEvents, id).length > 0, 'media flowed up to the limit');
  } finally {
    PacketProtection.prototype.seal = seal;
  }
});
