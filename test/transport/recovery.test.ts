import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, messages } from './Pair.js';
import { isProtected } from '../../src/wire/header.js';

/** True for a client PROTECTED packet long enough to carry a DATA frame. */
const isData = (d: Uint8Array) => isProtected(d) && d.length > 300;

test('a lost fragment is retransmitted and the reliable message arrives', () => {
  let n = 0;
  const p = new Pair({ up: { delayMs: 20, filter: (d) => !(isData(d) && n++ === 0) } });
  p.connect();
  const id = p.client.openStream(p.now, { class: 'control', reliability: 'reliable', priority: 0 });
  p.client.send(p.now, id, new Uint8Array(5000).fill(9));
  p.run(p.now + 5000, () => messages(p.serverEvents).length > 0);
  assert.equal(messages(p.serverEvents).length, 1);
  assert.deepEqual(messages(p.serverEvents)[0]!.data, new Uint8Array(5000).fill(9));
  assert.ok(p.client.stats().retransmits >= 1);
});

test('early retransmit: a hole before acked packets is resent after 9/8 RTT, before any RTO', () => {
  let n = 0;
  const p = new Pair({ up: { delayMs: 50, filter: (d) => !(isData(d) && n++ === 0) }, down: { delayMs: 50 } });
  p.connect();
  const id = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  const t0 = p.now;
  p.client.send(p.now, id, new Uint8Array(2000).fill(1), { deadline: p.now + 2000 });
  p.run(p.now + 2000, () => messages(p.serverEvents).length > 0);
  const causes = p.client.stats().retransmitsByCause!;
  assert.equal(messages(p.serverEvents).length, 1);
  assert.equal(causes.timeout, 0);
  assert.ok(causes.early + causes.nack >= 1, JSON.stringify(causes));
  assert.ok(p.now - t0 < 300, `took ${p.now - t0} ms`);
});

test('deadline give-up: nothing is retransmitted after the deadline and the sender reports the drop', () => {
  let blocked = true;
  const p = new Pair({ up: { delayMs: 20, filter: (d) => !(blocked && isData(d)) } });
  p.connect();
  const id = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  p.client.send(p.now, id, new Uint8Array(3000), { deadline: p.now + 400 });
  p.run(p.now + 400);
  const retxAtDeadline = p.client.stats().retransmits;
  p.run(p.now + 3000);
  assert.equal(p.client.stats().retransmits, retxAtDeadline);
  assert.ok(p.clientEvents.some((e) => e.type === 'message-dropped' && e.reason === 'deadline'));
  assert.equal(messages(p.serverEvents).length, 0);
  blocked = false;
});

test('FEC repairs losses once the receiver reports them', () => {
  const p = new Pair({ seed: 3, up: { delayMs: 40, loss: 0.05 }, down: { delayMs: 40 } });
  p.connect();
  const v = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  const a = p.client.openStream(p.now, { class: 'audio', reliability: 'deadline', priority: 1 });
  for (let i = 0; i < 300; i++) {
    p.client.send(p.now, v, new Uint8Array(i % 60 === 0 ? 20000 : 3000).fill(i & 0xff), { deadline: p.now + 600, keyframe: i % 60 === 0, timestamp: i });
    p.client.send(p.now, a, new Uint8Array(160).fill(i & 0xff), { deadline: p.now + 600, timestamp: i });
    p.run(p.now + 33);
  }
  p.run(p.now + 1000);
  const cs = p.client.stats();
  const ss = p.serverSession!.stats();
  assert.ok(cs.fecPacketsSent > 0, 'no repair sent');
  assert.ok(ss.fecRecovered > 0, 'nothing recovered');
  const got = messages(p.serverEvents, v).length;
  assert.ok(got >= 297, `video ${got}/300`);
  console.log(`fec: sent ${cs.fecPacketsSent} repairs, recovered ${ss.fecRecovered}, retransmits ${cs.retransmits}, video ${got}/300, audio ${messages(p.serverEvents, a).length}/300`);
});

/** Sends one 1000-byte video message with this deadline over a 200 ms RTT link that loses its first copy; returns the client's stats and how many copies of it left. */
function resendOnce(deadlineMs: number) {
  let copies = 0;
  // The message's own packets, by size (MTU probes are 1200 bytes and more).
  const ours = (d: Uint8Array) => isProtected(d) && d.length > 1000 && d.length < 1150;
  const p = new Pair({
    client: { fec: false },
    up: { delayMs: 100, filter: (d) => !(ours(d) && copies++ === 0) },
    down: { delayMs: 100 },
  });
  p.connect();
  const id = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  p.run(p.now + 500);
  p.client.send(p.now, id, new Uint8Array(1000).fill(7), { deadline: p.now + deadlineMs });
  p.run(p.now + deadlineMs + 500);
  return { copies, got: messages(p.serverEvents).length };
}

test('a resend with no time left for another round goes twice; with time for one more, once', () => {
  // Lost at once, NACKed ~220 ms later: with a 520 ms deadline a lost resend could not be
  // resent again in time (100 ms there, 220 ms for the next round), so it goes twice.
  const tight = resendOnce(520);
  assert.equal(tight.got, 1);
  assert.equal(tight.copies, 3, `copies ${tight.copies}`);
  const loose = resendOnce(3000);
  assert.equal(loose.got, 1);
  assert.equal(loose.copies, 2, `copies ${loose.copies}`);
});

test('FEC goes to sources a resend cannot reach before their deadline, not to those it can', () => {
  const run = (deadlineMs: number) => {
    const p = new Pair({ seed: 5, up: { delayMs: 40 }, down: { delayMs: 40 } });
    p.connect();
    const v = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
    for (let i = 0; i < 90; i++) {
      p.client.send(p.now, v, new Uint8Array(3000).fill(i & 0xff), { deadline: p.now + deadlineMs });
      p.run(p.now + 33);
    }
    p.run(p.now + 1000);
    return p.client.stats().fecPacketsSent;
  };
  // No loss on the wire: what FEC is sent is sized for the 2% loss assumed before the
  // receiver's first reports and the average that follows them down.
  const short = run(100);
  const long = run(2000);
  assert.ok(short > 10, `short deadline: ${short} repairs`);
  assert.ok(long < short / 4, `long deadline: ${long} repairs vs ${short}`);
});
