import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, messages } from './Pair.js';

test('an idle session stays up on keepalives sent at least every 15 s', () => {
  const p = new Pair({ client: { keepaliveMs: 10_000 } });
  let last = 0;
  let maxGap = 0;
  const orig = p.up.send.bind(p.up);
  p.up.send = (now, path, data) => {
    maxGap = Math.max(maxGap, now - last);
    last = now;
    orig(now, path, data);
  };
  p.connect();
  p.run(p.now + 120_000);
  assert.equal(p.client.stats().state, 'connected');
  assert.equal(p.serverSession!.stats().state, 'connected');
  assert.ok(maxGap <= 15_000, `gap ${maxGap}`);
});

test('a session whose peer vanishes closes on the idle timeout', () => {
  const p = new Pair({ client: { idleTimeoutMs: 20_000 }, server: { idleTimeoutMs: 20_000 } });
  p.connect();
  const t0 = p.now;
  p.up.o.loss = 1;
  p.down.o.loss = 1;
  p.run(p.now + 60_000, () => p.clientEvents.some((e) => e.type === 'closed'));
  const closed = p.clientEvents.find((e) => e.type === 'closed');
  assert.ok(closed && closed.type === 'closed' && /idle/.test(closed.reason) && !closed.byPeer);
  assert.ok(p.now - t0 >= 19_000 && p.now - t0 <= 21_000, `closed after ${p.now - t0}`);
});

test('close is clean: the peer sees closed byPeer and the endpoint forgets the session', () => {
  const p = new Pair();
  p.connect();
  p.client.close(p.now, 'done');
  p.run(p.now + 1000, () => p.serverEvents.some((e) => e.type === 'closed'));
  const e = p.serverEvents.find((x) => x.type === 'closed');
  assert.ok(e && e.type === 'closed' && e.byPeer && e.reason === 'done');
  assert.equal(p.client.stats().state, 'closed');
  p.run(p.now + 100);
  assert.equal(p.server.sessionCount, 0);
});

test("the client's address changes mid-stream: validated by a challenge, no new handshake", () => {
  const p = new Pair({ up: { delayMs: 20 }, down: { delayMs: 20 } });
  p.connect();
  const vid = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  for (let i = 0; i < 60; i++) {
    if (i === 30) p.clientAddr = '10.0.0.1:6001';
    p.client.send(p.now, vid, new Uint8Array(2000), { deadline: p.now + 800, timestamp: i });
    p.run(p.now + 33);
  }
  p.run(p.now + 1000);
  const got = messages(p.serverEvents, vid).length;
  assert.ok(got >= 58, `delivered ${got}/60`);
  assert.ok(p.serverEvents.some((e) => e.type === 'path-up' && e.path === '10.0.0.1:6001'));
  assert.equal(p.server.retriesSent, 1);
  const paths = p.serverSession!.stats().paths;
  assert.ok(paths.some((x) => x.path === '10.0.0.1:6001' && x.state === 'active'));
  // replies now go to the new address: a ping answered there keeps the client alive
  p.run(p.now + 40_000);
  assert.equal(p.client.stats().state, 'connected');
});
