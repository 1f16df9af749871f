import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Endpoint, SeededRandom, createClientSession, type Session } from '../../src/transport/index.js';
import { WakeHeap } from '../../src/transport/WakeHeap.js';

const PSK = 'scale-test-psk';

/** N clients on one server endpoint, joined by 5 ms links in virtual time; the server sessions send to the clients (viewers). */
function swarm(n: number) {
  let now = 0;
  const server = new Endpoint({ now, resolvePsk: (id) => (id === 'viewer' ? PSK : undefined), random: new SeededRandom(1) });
  const clients = Array.from({ length: n }, (_, i) => createClientSession({ now, psk: PSK, identity: 'viewer', path: 'up', random: new SeededRandom(100 + i) }));
  const addr = (i: number) => `10.0.${i >> 8}.${i & 255}:5000`;
  const byAddr = new Map(clients.map((_, i) => [addr(i), i]));
  const wire: Array<{ at: number; to: 'server' | number; path: string; data: Uint8Array }> = [];
  const serverSessions: Session[] = [];
  const received = clients.map(() => 0);
  const step = () => {
    for (const c of clients) if ((c.pollTimeout() ?? Infinity) <= now) c.handleTimeout(now);
    if ((server.pollTimeout() ?? Infinity) <= now) server.handleTimeout(now);
    clients.forEach((c, i) => {
      for (let d = c.pollTransmit(now); d; d = c.pollTransmit(now)) wire.push({ at: now + 5, to: 'server', path: addr(i), data: d.data });
    });
    for (let d = server.pollTransmit(now); d; d = server.pollTransmit(now)) wire.push({ at: now + 5, to: byAddr.get(d.path)!, path: 'up', data: d.data });
    for (let e = server.pollEvent(); e; e = server.pollEvent()) serverSessions.push(e.session);
    clients.forEach((c, i) => {
      for (let e = c.pollEvent(); e; e = c.pollEvent()) if (e.type === 'message') received[i]!++;
    });
    for (const s of serverSessions) while (s.pollEvent());
  };
  const runUntil = (t: number) => {
    while (now < t) {
      step();
      wire.sort((a, b) => a.at - b.at);
      const next = Math.min(t, wire[0]?.at ?? Infinity, server.pollTimeout() ?? Infinity, ...clients.map((c) => c.pollTimeout() ?? Infinity));
      now = Math.max(now + 0.001, next);
      while (wire.length && wire[0]!.at <= now) {
        const w = wire.shift()!;
        if (w.to === 'server') server.handleDatagram(now, w.path, w.data);
        else clients[w.to]!.handleDatagram(now, w.path, w.data);
      }
    }
    step();
  };
  return { server, clients, serverSessions, received, runUntil, get now() { return now; } };
}

test('a server endpoint asks only the sessions that changed: one send polls one session, not all of them', () => {
  const n = 60;
  const w = swarm(n);
  w.runUntil(2000);
  assert.equal(w.serverSessions.length, n, 'every client connected');
  const streams = w.serverSessions.map((s) => s.openStream(w.now, { class: 'video', reliability: 'deadline', priority: 2 }));
  w.runUntil(3000);
  // Count what one frame to one viewer costs the endpoint in session polls.
  let polls = 0;
  const orig = w.serverSessions.map((s) => s.pollTimeout.bind(s));
  w.serverSessions.forEach((s, i) => {
    s.pollTimeout = () => {
      polls++;
      return orig[i]!();
    };
  });
  const t = w.now;
  w.serverSessions[7]!.send(t, streams[7]!, new Uint8Array(900), { deadline: t + 1000 });
  if ((w.server.pollTimeout() ?? Infinity) <= t) w.server.handleTimeout(t);
  let out = 0;
  for (let d = w.server.pollTransmit(t); d; d = w.server.pollTransmit(t)) out++;
  w.server.pollTimeout();
  assert.ok(out >= 1, 'the frame went out');
  // Before: every session asked three times (handleTimeout, the last pollTransmit, pollTimeout).
  assert.ok(polls <= 4, `${polls} session polls for one send among ${n} sessions`);
});

test('every session of a busy endpoint gets its datagrams out (round robin over the due ones)', () => {
  const n = 40;
  const w = swarm(n);
  w.runUntil(2000);
  const streams = w.serverSessions.map((s) => s.openStream(w.now, { class: 'video', reliability: 'deadline', priority: 2 }));
  w.runUntil(2500);
  for (let k = 0; k < 30; k++) {
    const t = w.now;
    w.serverSessions.forEach((s, i) => s.send(t, streams[i]!, new Uint8Array(3000), { deadline: t + 2000 }));
    w.runUntil(t + 33);
  }
  w.runUntil(w.now + 2000);
  // Each client got its 30 messages (the server sends its session events too; count messages only).
  for (let i = 0; i < n; i++) assert.equal(w.received[i], 30, `client ${i} got ${w.received[i]} of 30`);
});

test('a closed session leaves the endpoint', () => {
  const w = swarm(3);
  w.runUntil(2000);
  w.serverSessions[1]!.close(w.now, 'bye');
  w.runUntil(3000);
  assert.ok(w.serverSessions[1]!.isClosed);
  assert.equal(w.clients[1]!.stats().state, 'closed');
  assert.notEqual(w.clients[0]!.stats().state, 'closed');
});

test('WakeHeap: earliest first, an update replaces the old time, popDue takes only what is due', () => {
  const h = new WakeHeap<string>();
  h.set('a', 30);
  h.set('b', 10);
  h.set('c', 20);
  h.set('b', 40);
  assert.equal(h.peek(), 20);
  assert.equal(h.popDue(19), undefined);
  assert.equal(h.popDue(25), 'c');
  assert.equal(h.popDue(35), 'a');
  assert.equal(h.popDue(35), undefined);
  assert.equal(h.peek(), 40);
  h.set('b', Infinity);
  assert.equal(h.peek(), Infinity);
  for (let i = 0; i < 1000; i++) h.set('x', 1000 - i);
  assert.equal(h.peek(), 1);
  h.delete('x');
  assert.equal(h.peek(), Infinity);
});
