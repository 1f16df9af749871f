/**
 * LOST: the receiver reports a reference video frame it could not complete, and the sender
 * stops sending what is predicted from it. Real sessions over the virtual Pair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, messages } from './Pair.js';
import { isProtected } from '../../src/wire/header.js';

const isData = (d: Uint8Array) => isProtected(d) && d.length > 300;

function setup() {
  let n = 0;
  let blocked = false;
  // FEC off: nothing may rebuild the missing fragments. The first DATA packet of the keyframe
  // passes; every other one (its other fragments and their resends) is dropped until unblocked.
  const p = new Pair({ client: { fec: false }, up: { delayMs: 20, filter: (d) => !(blocked && isData(d) && n++ > 0) } });
  p.connect();
  const v = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  p.run(p.now + 100);
  return { p, v, block: (on: boolean) => (blocked = on) };
}

test('a keyframe the receiver cannot complete is reported: the sender asks for a keyframe and refuses the frames predicted from it', () => {
  const { p, v, block } = setup();
  block(true);
  assert.ok(p.client.send(p.now, v, new Uint8Array(4000).fill(1), { deadline: p.now + 400, keyframe: true, reference: true }));
  p.run(p.now + 1000, () => p.clientEvents.some((e) => e.type === 'keyframe-wanted'));
  assert.ok(p.clientEvents.some((e) => e.type === 'keyframe-wanted'), 'no keyframe-wanted: the sender never learnt the keyframe was lost');
  assert.equal(p.serverSession!.stats().lossReports?.sent, 1);
  assert.equal(p.client.stats().lossReports?.applied, 1);
  block(false);
  // A P frame predicted from the lost keyframe is refused; the next keyframe is taken and arrives.
  assert.equal(p.client.send(p.now, v, new Uint8Array(500).fill(2), { deadline: p.now + 400, reference: true }), false);
  assert.ok(p.client.send(p.now, v, new Uint8Array(3000).fill(3), { deadline: p.now + 400, keyframe: true, reference: true }));
  p.run(p.now + 500, () => messages(p.serverEvents).length > 0);
  assert.equal(messages(p.serverEvents).length, 1);
  assert.equal(messages(p.serverEvents)[0]!.data[0], 3);
});

test('the frames still queued after a reported frame are dropped unsent, up to the next keyframe', () => {
  const { p, v, block } = setup();
  block(true);
  p.client.send(p.now, v, new Uint8Array(4000).fill(1), { deadline: p.now + 400, keyframe: true, reference: true });
  p.run(p.now + 300);
  // Queue more than the link lets out before the report comes: P frames after the lost keyframe.
  const before = p.client.stats().messagesDropped;
  for (let i = 0; i < 40; i++) p.client.send(p.now, v, new Uint8Array(1200).fill(4), { deadline: p.now + 3000, reference: true });
  p.run(p.now + 700, () => p.clientEvents.some((e) => e.type === 'keyframe-wanted'));
  assert.ok(p.client.stats().lossReports!.applied >= 1);
  assert.ok(p.client.stats().messagesDropped > before, 'the queued dependents were not dropped');
  block(false);
  p.run(p.now + 2000);
  // None of the P frames (fill 4) reaches the receiver after the report: they could not be decoded.
  const late = messages(p.serverEvents).filter((m) => m.data[0] === 4);
  assert.ok(late.length < 40, `all ${late.length} dependents were delivered`);
});

test('a non-reference frame lost is not reported', () => {
  const { p, v, block } = setup();
  block(true);
  p.client.send(p.now, v, new Uint8Array(4000).fill(1), { deadline: p.now + 400, reference: false });
  p.run(p.now + 1500);
  assert.equal(p.serverSession!.stats().lossReports?.sent, 0);
  assert.ok(!p.clientEvents.some((e) => e.type === 'keyframe-wanted'));
});

test('hostile reports: an unknown stream, a message never sent and a flood are counted and bounded', () => {
  const { p, v } = setup();
  p.client.send(p.now, v, new Uint8Array(1000), { deadline: p.now + 400, keyframe: true, reference: true });
  p.run(p.now + 200);
  // The server's session owes the client these reports, as a hostile receiver would send them.
  const reports = (p.serverSession as unknown as { s: { lossReports: { add(now: number, s: number, m: number): void } } }).s.lossReports;
  // (Added from outside its own timer, the server's session is polled again on its next datagram.)
  const nudge = () => p.client.send(p.now, v, new Uint8Array(100), { deadline: p.now + 400, reference: false });
  reports.add(p.now, 99, 0); // no such stream
  reports.add(p.now, 1, 0); // a stream the client never opened
  reports.add(p.now, v, 1_000_000); // never sent
  nudge();
  p.run(p.now + 300);
  let dropped = p.client.stats().dropped;
  assert.equal(dropped['lost-bad-stream'], 2, JSON.stringify(dropped));
  assert.equal(dropped['lost-unsent'], 1, JSON.stringify(dropped));
  for (let i = 0; i < 5000; i++) reports.add(p.now, v, 1_000_000 + i);
  nudge();
  p.run(p.now + 500);
  dropped = p.client.stats().dropped;
  // At most 32 of the flood wait at once; the rest give way unsent.
  assert.ok((dropped['lost-unsent'] ?? 0) > 1 && (dropped['lost-unsent'] ?? 0) <= 1 + 32, JSON.stringify(dropped));
  assert.ok(p.serverSession!.stats().lossReports!.sent <= 3 + 32 + 8);
  assert.equal(p.client.stats().lossReports!.applied, 0);
  assert.equal(p.client.stats().state, 'connected');
  // The session still carries media.
  p.client.send(p.now, v, new Uint8Array(800).fill(7), { deadline: p.now + 400, keyframe: true, reference: true });
  p.run(p.now + 300, () => messages(p.serverEvents).some((m) => m.data[0] === 7));
  assert.ok(messages(p.serverEvents).some((m) => m.data[0] === 7));
});
