/**
 * Bonding in virtual time: one session over three emulated links (bench/transport/VirtualRun
 * drives the real core and the link model). Each test checks one behaviour the bonding issue
 * names; figures for whole runs are in `tributary bench bond`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateBottleneck } from '../../src/emulator/Bottleneck.js';
import type { LinkConfig } from '../../src/emulator/LinkConfig.js';
import { judge } from '../../src/bench/transport/Judge.js';
import { runVirtual, type LinkEvent, type LinkPair } from '../../src/bench/transport/VirtualRun.js';
import { tributaryPeers } from '../../src/bench/transport/tributaryPeers.js';
import type { BondMode, PathStats, SessionEvent } from '../../src/transport/index.js';

function link(mbps: number, rttMs: number, lossPct = 0): LinkPair {
  const b = new RateBottleneck(mbps * 1e6);
  const base: LinkConfig = { delayMs: rttMs / 2, loss: lossPct / 100 };
  return { up: { ...base, bottleneck: b, queueBytes: Math.round(b.meanBps / 8) }, down: { ...base } };
}

interface Outcome {
  video: number;
  audio: number;
  shares: number[];
  linkBytes: number[];
  events: Array<{ t: number; e: SessionEvent }>;
  /** Client path stats sampled every 100 ms of media time. */
  samples: Array<{ t: number; paths: PathStats[] }>;
  copyBytes: number;
  pathsDowned: number;
  duplicatesDelivered: number;
}

function run(mode: BondMode, links: LinkPair[], o: { bitrate: number; latency: number; seconds: number; events?: LinkEvent[]; onStep?: (t: number) => void }): Outcome {
  const peers = tributaryPeers(0, 7, 'link0', 'all', mode);
  const events: Outcome['events'] = [];
  const samples: Outcome['samples'] = [];
  const seen = new Set<number>();
  let dup = 0, lastSample = -Infinity, mediaStart = -1;
  const client = peers.client;
  const poll = client.pollEvent.bind(client);
  client.pollEvent = () => {
    const e = poll();
    if (e && (e.type === 'path-down' || e.type === 'path-up')) events.push({ t: lastNow - mediaStart, e });
    return e;
  };
  const serverPoll = peers.pollServerEvent.bind(peers);
  peers.pollServerEvent = () => {
    const e = serverPoll();
    if (e?.type === 'message' && e.data.length >= 4) {
      const id = new DataView(e.data.buffer, e.data.byteOffset, 4).getUint32(0);
      if (seen.has(id)) dup++;
      seen.add(id);
    }
    return e;
  };
  let lastNow = 0;
  const r = runVirtual({
    peers, links, events: o.events, seed: 7, bitrateBps: o.bitrate * 1e6, nonref: 0, durationMs: o.seconds * 1000, latencyMs: o.latency,
    onStep: (now, t0) => {
      lastNow = now;
      mediaStart = t0;
      if (t0 < 0) return;
      o.onStep?.(now - t0);
      if (now - lastSample >= 100) {
        lastSample = now;
        samples.push({ t: now - t0, paths: client.stats().paths });
      }
    },
  });
  const j = judge(r.frames, r.complete, o.latency);
  const st = client.stats();
  return {
    video: j.video.onTimeRatio, audio: j.audio.onTimeRatio, shares: r.linkBytes.map((b) => b / r.wireBytes), linkBytes: r.linkBytes, events, samples,
    copyBytes: st.copyBytes ?? 0, pathsDowned: st.pathsDowned ?? 0, duplicatesDelivered: dup,
  };
}

test('aggregate: packets are spread over links in the order of their capacity, and the stream needs all of them', () => {
  // 0.5 + 1 + 2 Mbit/s carry a 1.5 Mbit/s stream that no single link but the largest could.
  const r = run('aggregate', [link(0.5, 100), link(1, 100), link(2, 100)], { bitrate: 1.5, latency: 800, seconds: 30 });
  const [a, b, c] = r.shares as [number, number, number];
  assert.ok(a < b && b < c, `shares follow capacity: ${r.shares.map((x) => x.toFixed(3))}`);
  assert.ok(a > 0.05, `the smallest link is used: ${a.toFixed(3)}`);
  // Floors: today's figures less a margin (the first GOP leaves before the links' rates are
  // known); the targets are measured by `bench bond` (docs/benchmarks.md).
  assert.ok(r.audio >= 0.98, `audio on time ${r.audio}`);
  assert.ok(r.video >= 0.9, `video on time ${r.video}`);
});

test('a lossy link does not lower the other links\' rates', () => {
  // 2 Mbit/s over three 1 Mbit/s links needs every link near its capacity; link 0 then drops
  // 10% of its packets. Each link has its own controller, so links 1 and 2 carry as much as
  // when all three were clean (a shared controller would have cut everyone's rate).
  const clean = run('aggregate', [link(1, 100), link(1, 100), link(1, 100)], { bitrate: 2, latency: 800, seconds: 20 });
  const lossy = run('aggregate', [link(1, 100, 10), link(1, 100), link(1, 100)], { bitrate: 2, latency: 800, seconds: 20 });
  // Their controllers' targets (what the scheduler gives them), averaged over the run.
  const others = (r: Outcome) => {
    let sum = 0;
    for (const x of r.samples) sum += x.paths[1]!.targetBitrateBps + x.paths[2]!.targetBitrateBps;
    return sum / r.samples.length;
  };
  assert.ok(others(lossy) >= 0.9 * others(clean), `links 1 and 2: ${Math.round(others(lossy))} bit/s of target with a lossy neighbour, ${Math.round(others(clean))} without`);
  assert.ok(lossy.audio >= 0.99, `audio on time ${lossy.audio}`);
});

test('a link that goes silent leaves the schedule within max(250 ms, 2 RTT) of its last ack, its packets are re-sent, no frame is lost', () => {
  const r = run('aggregate', [link(1, 200), link(1, 200), link(1, 200)], { bitrate: 1.2, latency: 1000, seconds: 30, events: [{ link: 0, atMs: 15_000, kind: 'kill' }] });
  const down = r.events.find((x) => x.e.type === 'path-down' && x.e.path === 'link0');
  assert.ok(down, 'link0 was taken down');
  // Its last ack came back at most one RTT (+ queueing) after the kill; the limit is max(250, 2 x 200 ms).
  assert.ok(down.t - 15_000 <= 200 + 100 + 2 * 200 + 50, `taken down ${Math.round(down.t - 15_000)} ms after the kill`);
  assert.equal(r.video, 1, 'every video frame on time');
  assert.equal(r.audio, 1, 'every audio frame on time');
});

test('a revived link comes back only after answering probes and a hold, first at half weight (probing), then active', () => {
  const r = run('aggregate', [link(1, 200), link(1, 200), link(1, 200)], {
    bitrate: 1.2, latency: 1000, seconds: 30,
    events: [{ link: 0, atMs: 10_000, kind: 'kill' }, { link: 0, atMs: 14_000, kind: 'revive' }],
  });
  const up = r.events.find((x) => x.e.type === 'path-up' && x.e.path === 'link0' && x.t > 14_000);
  assert.ok(up, 'link0 re-admitted');
  assert.ok(up.t >= 14_000 + 2 * 200, `not before a few probes answered: ${Math.round(up.t - 14_000)} ms after revival`);
  const after = r.samples.filter((s) => s.t > up.t);
  const probing = after.filter((s) => s.paths[0]!.state === 'probing');
  const active = after.find((s) => s.paths[0]!.state === 'active');
  assert.ok(probing.length > 0 && active, 'probing first, then active');
  assert.ok(active.t - up.t >= 1900, `active after ~2 s of probing: ${Math.round(active.t - up.t)} ms`);
  const downs = r.events.filter((x) => x.e.type === 'path-down' && x.e.path === 'link0').length;
  assert.equal(downs, 1, 'no flapping after the revival');
  assert.ok(r.video >= 0.9, `video on time ${r.video}`);
});

test('a link whose RTT swings between 100 and 1200 ms costs the stream no more than 0.5% of its frames against leaving it out, and does not flap', () => {
  const swing = link(2, 100);
  // the link's one-way delay swings between 50 and 600 ms and back every 8 s (both directions)
  const onStep = (t: number) => {
    const phase = (t % 8000) / 4000;
    const d = 50 + 550 * (phase < 1 ? phase : 2 - phase);
    swing.up.delayMs = d;
    swing.down.delayMs = d;
  };
  const r = run('aggregate', [swing, link(1, 300), link(1, 300)], { bitrate: 1.2, latency: 1500, seconds: 40, onStep });
  const without = run('aggregate', [link(1, 300), link(1, 300)], { bitrate: 1.2, latency: 1500, seconds: 40 });
  assert.ok(r.video >= without.video - 0.005, `video ${r.video} with the swinging link, ${without.video} without it`);
  // Taken out when its RTT outruns the estimate is fine (its packets would be late); flapping
  // is not: at most one take-down per swing, thanks to the growing hold.
  const downs = r.events.filter((x) => x.e.type === 'path-down' && x.t < 40_000).length;
  assert.ok(downs <= 5, `taken down ${downs} times in five swings`);
  assert.ok(r.shares[0]! > 0.02, `the swinging link still carries media: ${r.shares[0]!.toFixed(3)}`);
});

test('redundant: every media packet goes on every link, the receiver delivers each frame once, and 3% loss per link costs nothing at a deadline of one RTT', () => {
  const r = run('redundant', [link(3, 300, 3), link(3, 300, 3), link(3, 300, 3)], { bitrate: 1.2, latency: 450, seconds: 30 });
  assert.equal(r.duplicatesDelivered, 0, 'no frame delivered twice');
  assert.ok(r.copyBytes > 1.5 * (1.2e6 / 8) * 30, `copies on the other links: ${r.copyBytes} bytes`);
  for (const s of r.shares) assert.ok(s > 0.25, `each link carries a full copy: ${r.shares.map((x) => x.toFixed(3))}`);
  assert.ok(r.audio >= 0.999, `audio on time ${r.audio}`);
  assert.ok(r.video >= 0.85, `video on time ${r.video}`);
});
