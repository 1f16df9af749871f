import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressLimiter, addressKey } from '../../../src/server/limits/AddressLimiter.js';
import { MemoryBudget } from '../../../src/server/limits/MemoryBudget.js';
import { WsInputGuard } from '../../../src/server/limits/WsInputGuard.js';

test('the budget refuses a grow past the total or past one address share, and a closed account gives everything back', () => {
  const b = new MemoryBudget({ totalBytes: 1000, perKeyBytes: 600 });
  const a1 = b.open('10.0.0.1');
  const a2 = b.open('10.0.0.1');
  const c = b.open('10.0.0.2');
  assert.equal(a1.grow(400), true);
  assert.equal(a2.grow(300), false, 'the address would hold 700 > 600');
  assert.equal(b.refused.perKey, 1);
  assert.equal(c.grow(500), true);
  assert.equal(c.grow(200), false, 'the total would be 1100 > 1000');
  assert.equal(b.refused.total, 1);
  assert.equal(b.used, 900);
  a1.shrink(10_000);
  assert.equal(a1.held, 0, 'shrink never gives back more than held');
  c.close();
  c.close();
  assert.equal(c.grow(1), false, 'a closed account takes nothing');
  assert.equal(b.used, 0);
  assert.equal(b.peak, 900);
  assert.equal(b.heldBy('10.0.0.2'), 0);
  // An exempt address (a reverse proxy) is held to the total only, not to one address's share.
  const proxy = b.open('127.0.0.1', false);
  assert.equal(proxy.grow(900), true);
  assert.equal(proxy.grow(200), false);
  assert.equal(b.heldBy('127.0.0.1'), 0);
  proxy.close();
  assert.equal(b.used, 0);
});

test('the address cap counts IPv4, IPv4-mapped IPv6 alike and native IPv6 by /64; exempt addresses are never refused', () => {
  assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  const l = new AddressLimiter(2, ['127.0.0.1']);
  assert.equal(l.tryAcquire('192.0.2.7'), true);
  assert.equal(l.tryAcquire('::ffff:192.0.2.7'), true);
  assert.equal(l.tryAcquire('192.0.2.7'), false);
  assert.equal(l.tryAcquire('2001:db8:1:2::1'), true);
  assert.equal(l.tryAcquire('2001:db8:1:2::2'), true);
  assert.equal(l.tryAcquire('2001:db8:1:2:ffff::3'), false, 'same /64');
  assert.equal(l.refused, 2);
  for (let i = 0; i < 10; i++) assert.equal(l.tryAcquire('127.0.0.1'), true);
  assert.equal(l.isExempt('::ffff:127.0.0.1'), true);
  assert.equal(l.isExempt('192.0.2.7'), false);
  l.release('192.0.2.7');
  assert.equal(l.count('192.0.2.7'), 1);
  assert.equal(l.tryAcquire('192.0.2.7'), true);
});

/** A masked client frame. */
function frame(fin: boolean, opcode: number, payload: number): Uint8Array {
  const len = payload < 126 ? [payload] : payload < 65536 ? [126, payload >> 8, payload & 255] : [127, 0, 0, 0, 0, (payload >>> 24) & 255, (payload >> 16) & 255, (payload >> 8) & 255, payload & 255];
  return new Uint8Array([(fin ? 0x80 : 0) | opcode, 0x80 | len[0]!, ...len.slice(1), 1, 2, 3, 4, ...new Array<number>(payload).fill(9)]);
}

test('the WebSocket guard refuses fragmented data messages and frames trickled over too many reads, and lets the rest pass', () => {
  const g = new WsInputGuard({ maxPayload: 4096, maxReadsPerFrame: 4 });
  assert.equal(g.push(frame(true, 1, 5)), undefined, 'a small text message');
  const ping = frame(true, 9, 125);
  const split = new Uint8Array([...ping, ...frame(true, 2, 300)]);
  for (let i = 0; i < split.length; i += 200) assert.equal(g.push(split.subarray(i, i + 200)), undefined, 'frames split across reads');
  assert.match(g.push(new Uint8Array([...ping, ...frame(false, 2, 1)])) ?? '', /fragmented/);
  assert.match(new WsInputGuard({ maxPayload: 4096, maxReadsPerFrame: 4 }).push(frame(true, 0, 1)) ?? '', /fragmented/, 'a stray continuation');

  const t = new WsInputGuard({ maxPayload: 4096, maxReadsPerFrame: 4 });
  const big = frame(true, 2, 1000);
  const results = [...big.subarray(0, 8)].map((b) => t.push(new Uint8Array([b])));
  assert.deepEqual(results.slice(0, 4), [undefined, undefined, undefined, undefined]);
  assert.match(results[4] ?? '', /more than 4 reads/);

  const huge = new WsInputGuard({ maxPayload: 4096, maxReadsPerFrame: 4 });
  assert.equal(huge.push(frame(true, 2, 100_000).subarray(0, 20)), undefined, 'too big is ws\'s to refuse (1009)');
});
