import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, messages } from './Pair.js';

test('client and server connect through a retry and exchange a reliable message', () => {
  const p = new Pair();
  p.connect();
  const s = p.serverSession!;
  assert.equal(p.client.stats().state, 'connected');
  assert.equal(s.stats().state, 'connected');
  assert.equal(p.server.retriesSent, 1);
  const id = p.client.openStream(p.now, { class: 'control', reliability: 'reliable', priority: 0 });
  p.client.send(p.now, id, new TextEncoder().encode('hello'));
  p.run(p.now + 1000, () => messages(p.serverEvents).length > 0);
  const got = messages(p.serverEvents);
  assert.equal(got.length, 1);
  assert.equal(new TextDecoder().decode(got[0]!.data), 'hello');
  assert.ok(p.serverEvents.some((e) => e.type === 'stream-opened' && e.streamId === id));
  assert.equal(p.stalls, 0);
});
