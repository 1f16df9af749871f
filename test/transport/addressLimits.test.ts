import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressLimits, addressOfPath } from '../../src/transport/AddressLimits.js';
import { Endpoint, SeededRandom, createClientSession } from '../../src/transport/index.js';
import { Pair } from './Pair.js';

test('the address of a path key is its IP, for UDP, TCP and IPv6 keys', () => {
  assert.equal(addressOfPath('127.0.0.5:4000'), '127.0.0.5');
  assert.equal(addressOfPath('tcp:127.0.0.5:4000'), '127.0.0.5');
  assert.equal(addressOfPath('::1:4000'), '::1');
  assert.equal(addressOfPath('udp0'), 'udp0');
});

test('half-open sessions are capped per address and in all; confirming or removing one frees its slot', () => {
  const l = new AddressLimits<number>({ maxHalfOpen: 5, maxHalfOpenPerAddress: 2, maxOpenSessionsPerAddress: 3 });
  l.add(1, 'a', false);
  l.add(2, 'a', false);
  assert.equal(l.refuse('a', false), 'half-open-per-address');
  assert.equal(l.refuse('b', false), undefined);
  l.confirmed(1);
  assert.equal(l.refuse('a', false), undefined);
  l.add(3, 'b', false);
  l.add(4, 'c', false);
  l.add(5, 'd', false);
  l.add(6, 'e', false);
  assert.equal(l.halfOpen, 5);
  assert.equal(l.refuse('f', false), 'half-open-limit');
  l.removed(6);
  l.removed(6);
  assert.equal(l.halfOpen, 4);
  assert.equal(l.refuse('f', false), undefined);
});

test('open (tokenless) sessions are capped per address even once connected; token sessions are not', () => {
  const l = new AddressLimits<number>({ maxHalfOpenPerAddress: 100, maxOpenSessionsPerAddress: 2 });
  for (const k of [1, 2]) (l.add(k, 'a', true), l.confirmed(k));
  assert.equal(l.refuse('a', true), 'sessions-per-address');
  assert.equal(l.refuse('a', false), undefined);
  l.removed(1);
  assert.equal(l.refuse('a', true), undefined);
});

test('the endpoint counts half-open sessions by IP: many ports of one address share its share', () => {
  const ep = new Endpoint({ now: 0, resolvePsk: () => 'k', random: new SeededRandom(1), requireRetry: false, maxHalfOpenPerAddress: 4 });
  for (let i = 0; i < 10; i++) {
    const c = createClientSession({ now: 0, psk: 'k', random: new SeededRandom(700 + i) });
    ep.handleDatagram(0, `6.6.6.6:${1000 + i}`, c.pollTransmit(0)!.data);
  }
  assert.equal(ep.sessionCount, 4);
  assert.equal(ep.halfOpenCount, 4);
  assert.equal(ep.dropped['half-open-per-address'], 6);
  const other = createClientSession({ now: 0, psk: 'k', random: new SeededRandom(9) });
  ep.handleDatagram(0, '7.7.7.7:1000', other.pollTransmit(0)!.data);
  assert.equal(ep.sessionCount, 5);
});

test('a session leaves the half-open count when its FINISHED arrives', () => {
  const p = new Pair();
  p.run(p.now + 10_000, () => p.server.sessionCount > 0);
  assert.equal(p.server.halfOpenCount, 1);
  p.connect();
  assert.equal(p.server.halfOpenCount, 0);
});
