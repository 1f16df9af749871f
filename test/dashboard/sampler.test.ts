import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodecConfig, MediaFrame } from '../../src/media/frame.js';
import type { SenderReport } from '../../src/media/tributary/report.js';
import { Registry } from '../../src/server/Registry.js';
import { StatsSampler } from '../../src/server/stats/StatsSampler.js';
import { Subscriber } from '../../src/server/Subscriber.js';

/** A viewer that "sends" every frame's bytes at once, as a socket with room would. */
class Viewer extends Subscriber {
  constructor(id: string, protocol: string) {
    super(id, protocol, '127.0.0.1:1');
  }
  onConfig(): void {}
  protected writeFrame(f: MediaFrame): void {
    this.bytesSent += f.data.length;
  }
  pendingBytes(): number {
    return 0;
  }
  protected onClose(): void {}
}

const video: CodecConfig = { kind: 'video', codec: 'h264', data: new Uint8Array([1, 2, 3]) };
const frame = (dts: number, bytes: number): MediaFrame => ({ kind: 'video', codec: 'h264', dts, pts: dts, keyframe: true, reference: true, data: new Uint8Array(bytes) });

function live(registry: Registry, key: string, report?: () => { report: SenderReport; at: number } | undefined) {
  const s = registry.app('live').stream(key);
  s.publish({ id: key, protocol: report ? 'tributary' : 'rtmp', remoteAddress: '127.0.0.1:9', close() {}, ...(report ? { senderReport: report } : {}) });
  s.pushConfig(video);
  return s;
}

test('rates are the deltas of the server counters between samples: bytes in, bytes written to viewers', () => {
  const registry = new Registry();
  const sampler = new StatsSampler(registry);
  const s = live(registry, 'a');
  s.subscribe(new Viewer('v1', 'http-flv'));
  s.subscribe(new Viewer('v2', 'http-flv'));
  s.subscribe(new Viewer('v3', 'ws-flv'));
  sampler.sample(0);
  // 1 s: 10 frames of 1000 bytes; each reaches the three viewers.
  for (let i = 0; i < 10; i++) s.pushFrame(frame(i * 100, 1000), 100 * i);
  sampler.sample(1000);
  // 2 s later: 5 frames of 500 bytes; one viewer left in between.
  s.unsubscribe(s.subscribers.get('v3')!);
  for (let i = 0; i < 5; i++) s.pushFrame(frame(1000 + i * 100, 500), 1000 + 100 * i);
  sampler.sample(3000);
  const snap = sampler.snapshot(3000);
  assert.deepEqual(snap.t, [0, 1000, 3000]);
  const h = snap.streams[0]!;
  assert.equal(h.path, 'live/a');
  assert.equal(h.start, 0);
  // The first sample has no earlier one to take a delta from: a gap, not a zero.
  assert.deepEqual(h.series['bitrateInKbps'], [null, 80, 10]);
  assert.deepEqual(h.series['bitrateOutKbps'], [null, 240, 20]);
  assert.deepEqual(h.series['fps'], [null, 10, 2.5]);
  assert.deepEqual(h.viewers, { 'http-flv': [2, 2, 2], 'ws-flv': [1, 1, 0] });
  assert.equal(h.transport, undefined);
});

test('the history is bounded: the last `capacity` samples, at most `maxStreams` streams, gone streams forgotten', () => {
  const registry = new Registry();
  const sampler = new StatsSampler(registry, { capacity: 50, maxStreams: 3 });
  const streams = ['s0', 's1', 's2', 's3', 's4'].map((k) => live(registry, k));
  for (let i = 0; i < 500; i++) {
    for (const s of streams) s.pushFrame(frame(i * 1000, 125 * (i % 7)), i * 1000);
    sampler.sample(i * 1000);
  }
  assert.equal(sampler.streamCount, 3);
  assert.equal(sampler.untracked, 2);
  const snap = sampler.snapshot(500_000);
  assert.equal(snap.t.length, 50);
  assert.equal(snap.t[0], 450_000);
  assert.equal(snap.untrackedStreams, 2);
  assert.deepEqual(snap.streams.map((h) => h.path), ['live/s0', 'live/s1', 'live/s2']);
  // After wrapping round the ring nine times, each value is still the one of its own second.
  const bitrate = snap.streams[1]!.series['bitrateInKbps']!;
  for (let k = 0; k < 50; k++) assert.equal(bitrate[k], (125 * 8 * ((450 + k) % 7)) / 1000);
  // A stream that ends leaves the history, and its slot goes to one that was not followed.
  streams[0]!.close('done');
  sampler.sample(500_000);
  assert.deepEqual(sampler.snapshot(500_000).streams.map((h) => h.path), ['live/s1', 'live/s2', 'live/s3']);
  const late = sampler.snapshot(500_000).streams[2]!;
  assert.equal(late.start, 49, 'a stream followed late starts at its first sample');
  assert.equal(late.series['fps']!.length, 1);
});

test('?since= returns only the samples after it, with each stream aligned to them', () => {
  const registry = new Registry();
  const sampler = new StatsSampler(registry);
  const s = live(registry, 'a');
  for (let i = 0; i < 10; i++) {
    s.pushFrame(frame(i * 1000, 1000), i * 1000);
    sampler.sample(i * 1000);
  }
  const snap = sampler.snapshot(9000, 6000);
  assert.deepEqual(snap.t, [7000, 8000, 9000]);
  assert.equal(snap.streams[0]!.start, 0);
  assert.deepEqual(snap.streams[0]!.series['bitrateInKbps'], [8, 8, 8]);
  assert.deepEqual(sampler.snapshot(9000, 9000).t, []);
});

test("a transport publisher's figures come from its sender's report, and a stale report shows as a gap", () => {
  const registry = new Registry();
  const sampler = new StatsSampler(registry);
  let r: { report: SenderReport; at: number } | undefined;
  live(registry, 'tx', () => r);
  sampler.sample(0);
  r = {
    at: 900,
    report: {
      bond: 'aggregate', rttMs: 42, lossBeforeRepair: 0.05, lossAfterRepair: 0.001, fecShare: 0.1, retransmitShare: 0.03, sendingBps: 2_000_000, targetBps: 2_500_000, inputBps: 1_900_000,
      links: [{ link: 'wlan0', state: 'active', rttMs: 40, loss: 0.05, share: 0.75, sendingBps: 1_500_000, targetBps: 2_000_000 }],
    },
  };
  sampler.sample(1000);
  sampler.sample(5000); // the report is 4.1 s old by now
  const h = sampler.snapshot(5000).streams[0]!;
  const t = h.transport!;
  assert.deepEqual(t.series['rttMs'], [null, 42, null]);
  assert.deepEqual(t.series['lossBeforeRepair'], [null, 0.05, null]);
  assert.deepEqual(t.series['sendingKbps'], [null, 2000, null]);
  assert.deepEqual(t.series['targetKbps'], [null, 2500, null]);
  assert.equal(t.bond, 'aggregate');
  assert.equal(t.reportAgeMs, 4100);
  assert.deepEqual(t.links.map((l) => [l.link, l.state, l.share]), [['wlan0', 'active', 0.75]]);
});
