import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, messages } from './Pair.js';

test('an overloaded queue drops non-reference video, then video up to the keyframe, then audio, never control', () => {
  const p = new Pair({ client: { initialBitrateBps: 100_000, minBitrateBps: 100_000, maxBitrateBps: 100_000 }, up: { delayMs: 20 } });
  p.connect();
  const ctl = p.client.openStream(p.now, { class: 'control', reliability: 'reliable', priority: 0 });
  const aud = p.client.openStream(p.now, { class: 'audio', reliability: 'deadline', priority: 1 });
  const vid = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  const deadline = p.now + 500;
  // 100 kbit/s pacing at 2x = ~25 kB in 1 s: far too little for all of this within 500 ms.
  p.client.send(p.now, ctl, new Uint8Array(2000), {});
  p.client.send(p.now, vid, new Uint8Array(8000), { deadline, keyframe: true, timestamp: 0 });
  for (let i = 1; i < 10; i++) p.client.send(p.now, vid, new Uint8Array(4000), { deadline, reference: i % 2 === 0, timestamp: i });
  p.client.send(p.now, vid, new Uint8Array(8000), { deadline, keyframe: true, timestamp: 10 });
  // audio comes last but goes first (priority 1) and is the last thing dropped
  for (let i = 0; i < 10; i++) p.client.send(p.now, aud, new Uint8Array(300), { deadline, timestamp: 1000 + i });
  p.run(p.now + 2000);
  const drops = p.clientEvents.filter((e) => e.type === 'message-dropped' && e.reason === 'queue') as { streamId: number; timestamp?: number }[];
  assert.ok(drops.length > 0);
  assert.ok(messages(p.serverEvents, aud).length >= 5, 'audio starved');
  const order = drops.map((d) => (d.streamId === aud ? 'audio' : d.timestamp! % 2 === 1 ? 'nonref' : 'video'));
  const firstVideo = order.indexOf('video');
  const lastNonref = order.lastIndexOf('nonref');
  const firstAudio = order.indexOf('audio');
  assert.ok(lastNonref >= 0 && (firstVideo < 0 || lastNonref < firstVideo), order.join(','));
  if (firstAudio >= 0) assert.ok(order.slice(firstAudio).every((x) => x === 'audio'), order.join(','));
  assert.ok(!drops.some((d) => d.streamId === ctl));
  assert.equal(messages(p.serverEvents, ctl).length, 1);
  // the newest keyframe survives the video stage
  assert.ok(messages(p.serverEvents, vid).some((m) => m.meta.timestamp === 10));
});

test('the pacer spreads a burst at the pacing rate', () => {
  const p = new Pair({ client: { initialBitrateBps: 1_000_000, maxBitrateBps: 1_000_000 }, up: { delayMs: 10 } });
  p.connect();
  const vid = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  const times: number[] = [];
  const orig = p.up.send.bind(p.up);
  p.up.send = (now, path, data) => {
    if (data.length > 1000) times.push(now);
    orig(now, path, data);
  };
  p.client.send(p.now, vid, new Uint8Array(100_000), { deadline: p.now + 5000 });
  p.run(p.now + 3000);
  const rate = p.client.stats().pacingRateBps;
  const span = times[times.length - 1]! - times[0]!;
  const expected = (100_000 * 8 * 1000) / rate;
  assert.ok(span >= 0.8 * expected, `span ${span} ms, expected about ${expected}`);
  const first5ms = times.filter((t) => t - times[0]! < 5).length;
  assert.ok(first5ms <= 3, `${first5ms} packets in the first 5 ms`);
});

test('the congestion controller brings the target down to a 600 kbit/s bottleneck', () => {
  const p = new Pair({ seed: 5, client: { initialBitrateBps: 2_000_000 }, up: { delayMs: 40, rateBps: 600_000, queueMs: 400 }, down: { delayMs: 40 } });
  p.connect();
  const vid = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  let delivered = 0;
  const start = p.now;
  for (let i = 0; p.now - start < 20_000; i++) {
    const target = p.client.stats().targetBitrateBps;
    p.client.send(p.now, vid, new Uint8Array(Math.round(target / 8 / 30)), { deadline: p.now + 1000, keyframe: i % 60 === 0, timestamp: i });
    p.run(p.now + 33);
  }
  const target = p.client.stats().targetBitrateBps;
  delivered = messages(p.serverEvents, vid).length;
  console.log(`cc: target ${Math.round(target / 1000)} kbit/s at a 600 kbit/s bottleneck, ${delivered} frames delivered`);
  assert.ok(target < 700_000 && target > 250_000, `target ${target}`);
});

test('MTU probing finds the path limit by binary search', () => {
  const p = new Pair({ up: { delayMs: 10, mtu: 1400 }, down: { delayMs: 10, mtu: 1400 } });
  p.connect();
  p.run(p.now + 20_000);
  const mtu = p.client.stats().mtu;
  assert.ok(mtu <= 1400 && mtu >= 1392, `mtu ${mtu}`);
  assert.ok(p.serverSession!.stats().mtu <= 1400 && p.serverSession!.stats().mtu >= 1392);
});
