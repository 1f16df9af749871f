import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EDGE, Msg, type AnyMsg, type SliceMsg } from '../../src/p2p/messages.js';
import type { Peer, PlaySink } from '../../src/p2p/Peer.js';
import { Swarm } from './swarm.js';

const continuity = (p: Peer): number => p.stats.onTime / Math.max(1, p.stats.played + p.stats.missed);
const substreamOf = (s: Swarm, seq: number): number => seq % s.c.substreams;

/** Three super nodes, then viewers with almost no upload (they only receive). */
function swarm(viewers = 1, sink?: PlaySink, uploadKbps = 100): { s: Swarm; supers: Peer[]; viewers: Peer[] } {
  const s = new Swarm();
  const supers = [s.join(), s.join(), s.join(), s.join()];
  s.runUntil(300);
  const vs = Array.from({ length: viewers }, () => s.join({ uploadKbps, sink }));
  return { s, supers, viewers: vs };
}

test('pre-subscription is interleaved across super nodes, and losing one costs only its substreams', () => {
  const { s, supers, viewers: [v] } = swarm();
  s.runUntil(5000);
  const parents = new Set(v!.parents.filter((p) => p > 0));
  assert.ok(parents.size >= 3, `substreams from ${parents.size} super nodes: ${v!.parents}`);
  assert.ok(v!.stats.pushed > 100, 'slices come by push');
  const victim = supers.find((p) => v!.parents.includes(s.idOf(p)))!;
  const victimId = s.idOf(victim);
  const lost = v!.parents.filter((p) => p === victimId).length;
  assert.ok(lost < s.c.substreams / 2, `one super node carries ${lost} of ${s.c.substreams} substreams`);
  const before = { ...v!.stats };
  s.kill(victimId);
  s.runUntil(15_000);
  assert.ok(!v!.parents.includes(victimId), 'its substreams have new parents');
  const due = v!.stats.played + v!.stats.missed - before.played - before.missed;
  const onTime = v!.stats.onTime - before.onTime;
  assert.ok(onTime / due >= 0.99, `continuity after the loss ${onTime}/${due}`);
  assert.ok(v!.stats.pushed - before.pushed > 0.8 * due, 'the other substreams kept coming by push');
});

test('a slice the push lost is pulled from a neighbour, three tries at most, then compensated by the edge', () => {
  const { s, viewers: [v] } = swarm();
  const vid = s.idOf(v!);
  let refuseNeighbours = false;
  s.filter = (from, to, m) => {
    if (to === vid && m.t === Msg.Slice && m.pushed && substreamOf(s, m.seq) === 3) return null; // the push of substream 3 is lost
    if (to === vid && from !== EDGE && m.t === Msg.Slice && !m.pushed && refuseNeighbours) return null; // neighbours' answers are lost
    return m;
  };
  s.runUntil(6000);
  assert.ok(v!.stats.pulled > 10, `pulled ${v!.stats.pulled}`);
  const compensatedBefore = v!.stats.compensated;
  assert.ok(continuity(v!) >= 0.99, `continuity ${continuity(v!)}`);
  refuseNeighbours = true;
  const from = s.log.length;
  s.runUntil(12_000);
  assert.ok(v!.stats.compensated - compensatedBefore > 10, 'with neighbours silent, the edge compensates');
  // For each compensated slice: how many neighbour requests went before the first compensation request.
  const asked = new Map<number, number>();
  const compensatedAfter = new Map<number, number>();
  for (const e of s.log.slice(from)) {
    if (e.from !== vid) continue;
    if (e.msg.t === Msg.Request) for (const q of e.msg.seqs) if (!compensatedAfter.has(q)) asked.set(q, (asked.get(q) ?? 0) + 1);
    if (e.msg.t === Msg.Compensate) for (const q of e.msg.seqs) if (!compensatedAfter.has(q)) compensatedAfter.set(q, asked.get(q) ?? 0);
  }
  assert.ok(compensatedAfter.size > 10);
  for (const [seq, tries] of compensatedAfter) assert.ok(tries <= s.c.pullTries, `slice ${seq}: ${tries} pull tries before compensation`);
  assert.ok([...compensatedAfter.values()].filter((t) => t === s.c.pullTries).length > compensatedAfter.size / 2, 'most went through all three pull tries first');
  assert.ok(continuity(v!) >= 0.98, `continuity ${continuity(v!)}`);
});

test('a pull still out at the last moment the edge can help goes to the edge, within the budget', () => {
  const { s, viewers: [v] } = swarm();
  const vid = s.idOf(v!);
  // Substream 3's push is lost, and everything else neighbours send the viewer (hellos, maps,
  // answers) is 700 ms late: a pull of a slice answers after its play time and does not time out before it.
  s.filter = (_from, to, m) => (to === vid && m.t === Msg.Slice && m.pushed && substreamOf(s, m.seq) === 3 ? null : m);
  s.delay = (from, to, m) => (to === vid && from !== EDGE && !(m.t === Msg.Slice && m.pushed) ? 700 : 0);
  s.runUntil(4000);
  const from = s.log.length;
  const before = { ...v!.stats };
  s.runUntil(12_000);
  const pulledFirst = new Set<number>();
  const hedged: number[] = [];
  s.log.forEach((e, i) => {
    if (e.from !== vid) return;
    if (e.msg.t === Msg.Request) for (const q of e.msg.seqs) pulledFirst.add(q);
    if (e.msg.t === Msg.Compensate && i >= from) for (const q of e.msg.seqs) if (substreamOf(s, q) === 3) hedged.push(q);
  });
  assert.ok(hedged.length > 20, `substream 3 compensated ${hedged.length} times in 8 s`);
  assert.ok(hedged.every((q) => pulledFirst.has(q)), 'each was pulled first');
  const compensated = v!.stats.compensated - before.compensated;
  assert.ok(compensated <= s.c.compensationBurst + 8 * s.c.compensationRate, `within the budget: ${compensated}`);
  const due = v!.stats.played + v!.stats.missed - before.played - before.missed;
  const onTime = v!.stats.onTime - before.onTime;
  assert.ok(onTime / due >= 0.99, `continuity ${onTime}/${due}`);
});

test("the edge's compensation budget holds against a peer that asks for everything", () => {
  const s = new Swarm();
  s.join();
  const sent: number[] = [];
  const refused: number[] = [];
  const h = s.manual((_from, m) => {
    if (m.t === Msg.Slice && !m.pushed) sent.push(m.seq);
    if (m.t === Msg.Refused) refused.push(...m.seqs);
  });
  s.runUntil(3000);
  // 100 requests of 64 slices each over 2 s: 6,400 slices asked.
  for (let i = 0; i < 100; i++) {
    s.runUntil(3000 + i * 20);
    s.inject(h, EDGE, { t: Msg.Compensate, seqs: Array.from({ length: 64 }, (_, j) => j + (i % 3) * 10) });
  }
  s.runUntil(6000);
  const budget = s.c.compensationBurst + s.c.compensationRate * 2.1;
  assert.ok(sent.length <= budget, `edge sent ${sent.length} slices, budget ${budget}`);
  assert.ok(sent.length >= s.c.compensationBurst, 'the budget itself is served');
  assert.ok(refused.length >= 6400 - budget, `refused ${refused.length}`);
});

test('buffer stages: pushed slices play at the target delay; played slices stay 3 s for neighbours', () => {
  const delays: number[] = [];
  let started = -1;
  // An upload of the stream's rate: enough to answer a request in time (see the next test).
  const { s, supers, viewers: [v] } = swarm(1, { started: (ms) => (started = ms), played: (d) => delays.push(d), missed: () => delays.push(-1) }, 1000);
  s.runUntil(10_000);
  assert.ok(started > 0 && started < 1500, `startup ${started} ms`);
  assert.ok(!delays.includes(-1), 'nothing skipped');
  const settled = delays.slice(30);
  assert.ok(settled.every((d) => Math.abs(d - s.c.targetDelayMs) <= 1), `delays ${Math.min(...settled)}..${Math.max(...settled)}`);
  // Ask the viewer, as one of its neighbours, for a slice played ~2 s ago and one played ~4 s ago.
  const nb = supers.map((p) => s.idOf(p)).find((id) => v!.neighbours.get(id)?.up)!;
  assert.ok(nb, 'a super node is a neighbour');
  const playing = Math.floor(((10_000 - s.c.targetDelayMs) * s.c.fps) / 1000);
  const recent = playing - 2 * s.c.fps;
  const old = playing - 4 * s.c.fps;
  const at = s.log.length;
  v!.receive(s.now, nb, { t: Msg.Request, seqs: [recent, old] });
  const out = v!.drain();
  const slice = out.find((o) => o.msg.t === Msg.Slice)?.msg as SliceMsg | undefined;
  const notHave = out.find((o) => o.msg.t === Msg.NotHave)?.msg as Extract<AnyMsg, { t: Msg.NotHave }> | undefined;
  assert.equal(slice?.seq, recent, 'played 2 s ago: still served');
  assert.deepEqual(notHave?.seqs, [old], 'played 4 s ago: gone');
  assert.ok(s.log.length >= at);
});

test('a peer serves a request only when the answer leaves its upload within 300 ms, counting what it queued since the shell measured', () => {
  const ask = (uploadKbps: number, requests: number[][]): number[] => {
    const { s, supers, viewers: [v] } = swarm(1, undefined, uploadKbps);
    s.runUntil(10_000);
    const nb = supers.map((p) => s.idOf(p)).find((id) => v!.neighbours.get(id)?.up)!;
    const playing = Math.floor(((10_000 - s.c.targetDelayMs) * s.c.fps) / 1000);
    v!.setBacklog(0);
    const served: number[] = [];
    for (const seqs of requests) {
      v!.receive(s.now, nb, { t: Msg.Request, seqs: seqs.map((d) => playing - d) });
      for (const o of v!.drain()) if (o.msg.t === Msg.Slice) served.push(playing - o.msg.seq);
    }
    return served;
  };
  // A P-frame is ~3.8 KB at 1 Mbit/s: 300 ms takes 1000 kbit/s ~37 KB, 100 kbit/s ~3.7 KB.
  assert.deepEqual(ask(1000, [[1, 2]]), [1, 2], 'the stream rate serves two P-frames at once');
  assert.deepEqual(ask(100, [[1]]), [], 'a tenth of it serves nothing: the answer would take ~300 ms or more');
  // 40 P-frames (~150 KB) are more than 300 ms at 1 Mbit/s, whether asked at once or one by one.
  const one = ask(1000, [Array.from({ length: 40 }, (_, i) => i + 1)]);
  assert.ok(one.length >= 5 && one.length < 20, `served ${one.length} of 40 in one request`);
  const many = ask(1000, Array.from({ length: 40 }, (_, i) => [i + 1]));
  assert.ok(many.length >= 5 && many.length < 20, `served ${many.length} of 40 requests`);
});

test('a super node whose pushes come late is demoted and its children move to others', () => {
  const { s, supers, viewers } = swarm(4);
  s.runUntil(3000);
  const bad = supers.find((p) => viewers.some((v) => v.parents.includes(s.idOf(p))))!;
  const badId = s.idOf(bad);
  assert.ok(bad.role !== 0);
  // Its upload degrades: every push it sends arrives 600 ms late (past the push stage).
  // Its upload fails: none of its pushes arrive.
  s.filter = (from, _to, m) => (from === badId && m.t === Msg.Slice && m.pushed ? null : m);
  s.runUntil(40_000);
  assert.equal(bad.role, 0, 'demoted');
  assert.ok(s.edge.tracker.demotions >= 1);
  for (const v of viewers) {
    assert.ok(!v.parents.includes(badId), `a child still has it as a parent: ${v.parents}`);
    assert.ok(continuity(v) >= 0.99, `continuity ${continuity(v)}`);
  }
});

test('a forged, corrupted or replayed slice is dropped, its sender loses the neighbour and is reported', () => {
  const { s, viewers: [v] } = swarm();
  const vid = s.idOf(v!);
  s.runUntil(4000);
  const bad: Array<{ to: number; msg: AnyMsg }> = [];
  const h = s.manual((_from, m) => bad.push({ to: _from, msg: m }));
  s.inject(h, vid, { t: Msg.Hello, ack: false });
  s.runUntil(4100);
  assert.ok(v!.neighbours.get(h)?.up, 'the hostile peer is a neighbour');
  // It claims everything, and answers every request with a corrupted copy.
  s.inject(h, vid, { t: Msg.BufferMap, base: 0, bits: new Uint8Array(64).fill(0xff) });
  const next = Math.floor((4200 * s.c.fps) / 1000) + 10;
  s.runUntil(4200);
  s.inject(h, vid, { t: Msg.Slice, seq: next, captureMs: 0, key: false, pushed: false, payload: new Uint8Array(3000).fill(0xee) });
  s.runUntil(5000);
  // The digest of `next` came meanwhile: the parked slice was checked against it and failed.
  assert.equal(v!.stats.forged, 1);
  assert.ok(!v!.neighbours.has(h), 'dropped as a neighbour');
  assert.ok(s.log.some((e) => e.from === vid && e.to === EDGE && e.msg.t === Msg.BadPeer && e.msg.id === h), 'reported to the edge');
  // Nothing it sent reached anyone: every slice the viewer passed on is the edge's bytes.
  for (const e of s.log) if (e.from === vid && e.msg.t === Msg.Slice) assert.ok(e.msg.payload.every((b) => b === (e.msg as SliceMsg).seq % 256));
  // A replay: the edge's real bytes of slice T-1 under the name T, from another neighbour, while
  // the real T is kept from the viewer.
  const h2 = s.manual();
  s.inject(h2, vid, { t: Msg.Hello, ack: false });
  const target = Math.floor((5400 * s.c.fps) / 1000);
  s.filter = (from, to, m) => (to === vid && m.t === Msg.Slice && m.seq === target && from !== h2 ? null : m);
  s.runUntil(target * (1000 / s.c.fps) + 250);
  const unit = (s.c.bitrateKbps * 125) / (s.c.fps + 3);
  s.inject(h2, vid, { t: Msg.Slice, seq: target, captureMs: Math.round(target * (1000 / s.c.fps)), key: false, pushed: false, payload: new Uint8Array(Math.round(unit)).fill((target - 1) & 0xff) });
  s.runUntil(6500);
  s.filter = (_f, _t, m) => m;
  assert.equal(v!.stats.forged, 2);
  assert.ok(continuity(v!) >= 0.99);
});

test('a neighbour whose buffer map lies is found out and dropped', () => {
  const { s, viewers: [v] } = swarm();
  const vid = s.idOf(v!);
  s.runUntil(3000);
  const h = s.manual((from, m) => {
    if (m.t === Msg.Request) s.inject(h, from, { t: Msg.NotHave, seqs: m.seqs });
  });
  s.inject(h, vid, { t: Msg.Hello, ack: false });
  // The viewer loses the push of two substreams, so it must pull; the liar claims to hold everything.
  s.filter = (_from, to, m) => (to === vid && m.t === Msg.Slice && m.pushed && substreamOf(s, m.seq) < 2 ? null : m);
  for (let t = 3100; t < 8000; t += 500) {
    s.runUntil(t);
    if (v!.neighbours.has(h)) s.inject(h, vid, { t: Msg.BufferMap, base: Math.floor((t * s.c.fps) / 1000) - 60, bits: new Uint8Array(16).fill(0xff) });
  }
  s.runUntil(10_000);
  assert.ok(v!.stats.lies >= 3, `lies ${v!.stats.lies}`);
  assert.ok(!v!.neighbours.has(h), 'dropped');
  assert.ok(s.log.some((e) => e.from === vid && e.msg.t === Msg.BadPeer && e.msg.id === h));
  assert.ok(continuity(v!) >= 0.99, `continuity ${continuity(v!)}`);
});

test('a request flood is cut at the rate limit and the flooder dropped', () => {
  const { s, viewers: [v] } = swarm();
  const vid = s.idOf(v!);
  s.runUntil(3000);
  let served = 0;
  const h = s.manual((_from, m) => {
    if (m.t === Msg.Slice) served++;
  });
  s.inject(h, vid, { t: Msg.Hello, ack: false });
  s.runUntil(3100);
  const have = Math.floor(((3100 - s.c.targetDelayMs) * s.c.fps) / 1000);
  for (let i = 0; i < 2000; i++) {
    s.runUntil(3100 + i * 0.5);
    s.inject(h, vid, { t: Msg.Request, seqs: Array.from({ length: 10 }, (_, j) => have - 20 + j) });
  }
  s.runUntil(5000);
  const limit = s.c.requestBurst + s.c.requestRate * 1.1;
  assert.ok(served <= limit, `served ${served} slices, limit ${limit}`);
  assert.ok(served > 0);
  assert.ok(v!.stats.floodDropped > 0 && v!.stats.unsolicited > 1000, `dropped ${v!.stats.floodDropped}, then ignored ${v!.stats.unsolicited}`);
  assert.ok(!v!.neighbours.has(h), 'the flooder is no longer a neighbour');
  assert.ok(continuity(v!) >= 0.99);
});

test('a parent that says Bye is replaced at once: the viewer asks the edge for another in the same instant', () => {
  const { s, viewers: [v] } = swarm();
  s.runUntil(5000);
  const vid = s.idOf(v!);
  const parent = v!.parents.find((p) => p > 0)!;
  const from = s.log.length;
  s.inject(parent, vid, { t: Msg.Bye });
  const byeAt = s.log[from]!.at;
  s.runUntil(byeAt + 100);
  const asks = s.log.slice(from).filter((e) => e.from === vid && e.to === EDGE && e.msg.t === Msg.NeedParent);
  // It waited for the once-a-second stall check before.
  assert.ok(asks.length > 0 && asks[0]!.at - byeAt < 50, `NeedParent at ${asks[0]?.at} for a Bye at ${byeAt}`);
});
