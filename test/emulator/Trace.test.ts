import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LinkModel, TraceBottleneck, TraceError, loadTrace, parseTrace, traceMeanBps, resolveTracePath,
} from '../../src/emulator/index.js';
import { FULL_PAYLOAD_BYTES } from '../../src/emulator/Bottleneck.js';

test('a real trace loads by bare name: opportunity count and mean capacity match the README', () => {
  const t = loadTrace('ATT-LTE-driving-2016.up');
  assert.ok(t.periodMs > 119_000 && t.periodMs <= 120_100, `period ${t.periodMs}`);
  const mbps = traceMeanBps(t) / 1e6;
  assert.ok(Math.abs(mbps - 1.91) < 0.02, `mean ${mbps}`);
  assert.equal(t.times.length, Math.round((traceMeanBps(t) * t.periodMs) / 1000 / 12000));
});

test('a missing trace gives a clear error naming where it looked', () => {
  assert.throws(() => resolveTracePath('no-such-trace.up'), (e: unknown) => e instanceof TraceError && /shared\/traces/.test(e.message));
  assert.throws(() => resolveTracePath('./nope/x.up'), TraceError);
});

test('bad trace text is refused with the line number', () => {
  assert.throws(() => parseTrace('t', '1\n2\nx\n'), /t:3/);
  assert.throws(() => parseTrace('t', '5\n3\n'), /backwards/);
  assert.throws(() => parseTrace('t', '\n\n'), /empty/);
  assert.throws(() => parseTrace('t', '0\n0\n'), /period/);
});

test('replay: saturated link delivers one packet per opportunity, repeating the trace, from an offset', () => {
  const t = parseTrace('t', '1\n1\n3\n10\n');
  const b = new TraceBottleneck(t);
  const link = new LinkModel<number>({ bottleneck: b }, 1);
  for (let i = 0; i < 8; i++) link.send(0, FULL_PAYLOAD_BYTES, i);
  const times: number[] = [];
  for (let d = link.poll(Infinity); d; d = link.poll(Infinity)) times.push(d.time);
  assert.deepEqual(times, [1, 1, 3, 10, 11, 11, 13, 20]);
  // offset 2 ms: run time 0 is trace time 2, so the first opportunity is trace 3 -> run 1
  const off = new LinkModel<number>({ bottleneck: new TraceBottleneck(t, 2) }, 1);
  for (let i = 0; i < 3; i++) off.send(0, FULL_PAYLOAD_BYTES, i);
  const t2: number[] = [];
  for (let d = off.poll(Infinity); d; d = off.poll(Infinity)) t2.push(d.time);
  assert.deepEqual(t2, [1, 8, 9]);
  // an idle link wastes its opportunities: a packet at 4 waits for 10
  const idle = new LinkModel<number>({ bottleneck: new TraceBottleneck(t) }, 1);
  idle.send(4, 100, 0);
  assert.equal(idle.nextTime(), 10);
});

test('replay is byte-accurate as Mahimahi: packets share an opportunity, a large one continues into the next, an idle remainder is lost', () => {
  // Opportunities at 1, 1, 3, 10 (then 11, 11, 13, 20, ...), 1504 bytes each; a datagram is
  // charged its payload + 32 (IPv4, UDP, TUN). Worked by hand:
  //   t=0: 168 (200) and 168 (200) leave at 1 in opportunity 0 (400 used);
  //        1472 (1504): 1104 of opportunity 0, 400 of opportunity 1 -> leaves at 1;
  //        2000 (2032): 1104 of opportunity 1, 928 of opportunity 2 -> leaves at 3;
  //        100 (132): 132 more of opportunity 2 (1060 used) -> leaves at 3;
  //   t=5: 68 (100): opportunity 2 went by with the queue empty, its rest is lost -> 10;
  //   t=10: 1372 (1404) fills the rest of opportunity 3 exactly -> 10;
  //         0 (32): opportunity 3 is full -> opportunity 4, at 11.
  const b = new TraceBottleneck(parseTrace('t', '1\n1\n3\n10\n'));
  const link = new LinkModel<number>({ bottleneck: b }, 1);
  for (const size of [168, 168, 1472, 2000, 100]) link.send(0, size, size);
  link.send(5, 68, 68);
  link.send(10, 1372, 1372);
  link.send(10, 0, 0);
  const times: number[] = [];
  for (let d = link.poll(Infinity); d; d = link.poll(Infinity)) times.push(d.time);
  assert.deepEqual(times, [1, 1, 1, 3, 3, 10, 10, 11]);
  // 50 small packets a second cost their bytes, not 50 opportunities: 200-byte datagrams at
  // 20 ms on a link of one opportunity per ms each leave at the first opportunity at or after
  // their send time (with one 1500-byte opportunity each they would have queued the same way,
  // but two packets in one ms would not have shared one).
  const fast = new TraceBottleneck(parseTrace('f', Array.from({ length: 1000 }, (_, i) => String(i + 1)).join('\n')));
  const cur = fast.newCursor();
  for (let t = 0; t < 1000; t += 20) assert.equal(fast.serve(cur, t, 200), Math.max(1, t));
  const seven = fast.newCursor();
  const leave = Array.from({ length: 8 }, () => fast.serve(seven, 0, 180));
  assert.deepEqual(leave, [1, 1, 1, 1, 1, 1, 1, 2], "212-byte datagrams: seven share one 1504-byte opportunity");
  assert.ok(Math.abs(fast.meanBpsBetween(0, 1000) - 999 * 12000) < 1e-6, 'capacity between two times counts its opportunities');
});

test('saturating a real trace for a full period carries its mean capacity', () => {
  const t = loadTrace('TMobile-UMTS-driving.up');
  const link = new LinkModel<number>({ bottleneck: new TraceBottleneck(t), queuePackets: 1000 }, 1);
  const periodS = t.periodMs / 1000;
  let sent = 0;
  for (let now = 0; now < t.periodMs; now += 1) {
    while (link.queueBytesAt(now) < 200 * 1500) link.send(now, FULL_PAYLOAD_BYTES, sent++);
  }
  let n = 0;
  for (let d = link.poll(t.periodMs); d; d = link.poll(t.periodMs)) n++;
  // each datagram is a full 1500-byte IP packet, as the trace's opportunities count them
  const mbps = (n * 1500 * 8) / periodS / 1e6;
  assert.ok(Math.abs(mbps - traceMeanBps(t) / 1e6) < 0.02, `carried ${mbps} Mbps`);
});
