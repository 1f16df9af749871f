import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LinkModel, TraceBottleneck, TraceError, loadTrace, parseTrace, traceMeanBps, resolveTracePath,
} from '../../src/emulator/index.js';

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
  for (let i = 0; i < 8; i++) link.send(0, 1500, i);
  const times: number[] = [];
  for (let d = link.poll(Infinity); d; d = link.poll(Infinity)) times.push(d.time);
  assert.deepEqual(times, [1, 1, 3, 10, 11, 11, 13, 20]);
  // offset 2 ms: run time 0 is trace time 2, so the first opportunity is trace 3 -> run 1
  const off = new LinkModel<number>({ bottleneck: new TraceBottleneck(t, 2) }, 1);
  for (let i = 0; i < 3; i++) off.send(0, 1500, i);
  const t2: number[] = [];
  for (let d = off.poll(Infinity); d; d = off.poll(Infinity)) t2.push(d.time);
  assert.deepEqual(t2, [1, 8, 9]);
  // an idle link wastes its opportunities: a packet at 4 waits for 10
  const idle = new LinkModel<number>({ bottleneck: new TraceBottleneck(t) }, 1);
  idle.send(4, 100, 0);
  assert.equal(idle.nextTime(), 10);
});

test('saturating a real trace for a full period carries its mean capacity', () => {
  const t = loadTrace('TMobile-UMTS-driving.up');
  const link = new LinkModel<number>({ bottleneck: new TraceBottleneck(t), queuePackets: 1000 }, 1);
  const periodS = t.periodMs / 1000;
  let sent = 0;
  for (let now = 0; now < t.periodMs; now += 1) {
    while (link.queueBytesAt(now) < 200 * 1500) link.send(now, 1500, sent++);
  }
  let n = 0;
  for (let d = link.poll(t.periodMs); d; d = link.poll(t.periodMs)) n++;
  const mbps = (n * 1500 * 8) / periodS / 1e6;
  assert.ok(Math.abs(mbps - traceMeanBps(t) / 1e6) < 0.02, `carried ${mbps} Mbps`);
});
