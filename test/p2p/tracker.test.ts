import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/p2p/config.js';
import { EDGE, Msg, type JoinMsg } from '../../src/p2p/messages.js';
import { Tracker } from '../../src/p2p/Tracker.js';
import { Prng } from '../../src/emulator/Prng.js';

function joinMsg(rng: Prng): JoinMsg {
  const u = rng.next();
  const up = u < 0.3 ? 3000 : u < 0.7 ? 1000 : 100;
  return { t: Msg.Join, region: Math.floor(rng.next() * 4), isp: Math.floor(rng.next() * 3), uploadKbps: up, reachable: rng.next() >= 0.2, nominate: up >= 2000 };
}

/** CPU ms this process used (wall time on a shared machine says little about one core's work). */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

test('the tracker carries 10,000 peers of one stream on one core', () => {
  const t = new Tracker(DEFAULT_CONFIG);
  const rng = new Prng(7);
  const t0 = cpuMs();
  for (let id = 1; id <= 10_000; id++) {
    t.add(id, id, joinMsg(rng));
    for (let k = 0; k < DEFAULT_CONFIG.substreams; k++) t.parentFor(id, k);
    t.neighboursFor(id, DEFAULT_CONFIG.targetNeighbours);
  }
  const joinMs = cpuMs() - t0;
  // Then a minute of churn at the rate a 5-minute mean stay gives (33 leaves and joins a second)
  // and every peer's report every 5 s.
  const t1 = cpuMs();
  let next = 10_001;
  const ids = [...t.peers.keys()];
  for (let s = 0; s < 60; s++) {
    for (let i = 0; i < 33; i++) {
      const at = Math.floor(rng.next() * ids.length);
      t.remove(ids[at]!);
      const id = next++;
      ids[at] = id;
      t.add(s * 1000, id, joinMsg(rng));
      for (let k = 0; k < DEFAULT_CONFIG.substreams; k++) t.parentFor(id, k);
      t.neighboursFor(id, DEFAULT_CONFIG.targetNeighbours);
    }
    if (s % 5 === 0) for (const p of t.peers.values()) t.report(p.id, { t: Msg.Report, backlogMs: 0, continuity: 1000, parents: p.parents.filter((x) => x > 0).map((id) => ({ id, onTime: 990 })) }, s * 1000);
  }
  const churnMs = cpuMs() - t1;
  assert.equal(t.peers.size, 10_000);
  assert.ok(joinMs < 5_000, `10,000 joins took ${joinMs.toFixed(0)} ms`);
  // A minute of the tracker's work must take a small part of a minute of one core (CPU time, not wall).
  assert.ok(churnMs < 10_000, `a minute of churn and reports took ${churnMs.toFixed(0)} ms`);
  let supers = 0;
  let direct = 0;
  for (const p of t.peers.values()) {
    if (p.role) supers++;
    for (const q of p.parents) if (q === EDGE && !p.role) direct++;
  }
  assert.ok(supers > 500, `${supers} super nodes`);
  console.log(`CPU: 10,000 joins ${joinMs.toFixed(0)} ms; a minute of churn and reports ${churnMs.toFixed(0)} ms; ${supers} super nodes; ${direct} substreams fed by the edge directly`);
});

test('neighbours come from the same region first and never pair two unreachable peers', () => {
  const t = new Tracker(DEFAULT_CONFIG);
  const rng = new Prng(3);
  for (let id = 1; id <= 2000; id++) t.add(0, id, joinMsg(rng));
  let same = 0;
  let all = 0;
  for (let id = 1; id <= 200; id++) {
    const p = t.peers.get(id)!;
    for (const n of t.neighboursFor(id, 12)) {
      const q = t.peers.get(n)!;
      all++;
      if (q.join.region === p.join.region) same++;
      assert.ok(p.join.reachable || q.join.reachable, 'two unreachable peers cannot connect');
    }
  }
  assert.ok(same / all > 0.75, `same region ${same}/${all}`);
});

test('super nodes: self-nominated peers are approved while push slots are short; a failing one is demoted and its children reassigned', () => {
  const t = new Tracker(DEFAULT_CONFIG);
  const strong: JoinMsg = { t: Msg.Join, region: 0, isp: 0, uploadKbps: 3000, reachable: true, nominate: true };
  const weak: JoinMsg = { t: Msg.Join, region: 0, isp: 0, uploadKbps: 100, reachable: true, nominate: false };
  t.add(0, 1, strong);
  t.add(0, 2, strong);
  assert.ok(t.peers.get(1)!.role && t.peers.get(2)!.role, 'both approved');
  for (let id = 3; id < 10; id++) {
    t.add(0, id, weak);
    for (let k = 0; k < 8; k++) t.parentFor(id, k);
  }
  const s1 = t.peers.get(1)!;
  const k1 = Math.log2(s1.role & -s1.role);
  const children = [...t.peers.values()].filter((p) => p.parents[k1] === 1).map((p) => p.id);
  assert.ok(children.length > 0);
  let moved: Array<{ child: number; parent: number }> = [];
  for (let i = 0; i < 6 && s1.role; i++) for (const c of children) moved.push(...t.report(c, { t: Msg.Report, backlogMs: 0, continuity: 900, parents: [{ id: 1, onTime: 200 }] }, i * 5000));
  assert.equal(s1.role, 0, 'demoted');
  for (const c of children) assert.notEqual(t.peers.get(c)!.parents[k1], 1);
  assert.ok(children.every((c) => moved.some((m) => m.child === c && m.parent !== 1)), 'each child was given a new parent');
  moved = [];
});

test('moveOffEdge: an early joiner the edge feeds moves to a later super node with room at its next report, one substream a report; off, it stays', () => {
  for (const moveOffEdge of [false, true]) {
    const t = new Tracker({ ...DEFAULT_CONFIG, moveOffEdge });
    const weak: JoinMsg = { t: Msg.Join, region: 0, isp: 0, uploadKbps: 100, reachable: true, nominate: false };
    t.add(0, 1, weak);
    for (let k = 0; k < DEFAULT_CONFIG.substreams; k++) assert.equal(t.parentFor(1, k), EDGE);
    // A strong uploader joins and is approved as a super node for one substream.
    t.add(10, 2, { ...weak, uploadKbps: 5000, nominate: true });
    const k = [...Array(DEFAULT_CONFIG.substreams).keys()].find((i) => t.supers[i]!.has(2))!;
    assert.ok(k !== undefined, 'peer 2 is a super node');
    const moves = t.report(1, { t: Msg.Report, backlogMs: 0, continuity: 1000, parents: [] }, 5000);
    const p1 = t.peers.get(1)!;
    if (!moveOffEdge) {
      assert.deepEqual(moves, []);
      assert.equal(p1.parents[k], EDGE);
      continue;
    }
    assert.deepEqual(moves, [{ child: 1, substream: k, parent: 2 }]);
    assert.equal(p1.parents[k], 2);
    assert.ok(!t.edgeChildren[k]!.has(1), 'the edge no longer pushes it that substream');
    assert.equal(p1.parents.filter((x) => x === EDGE).length, DEFAULT_CONFIG.substreams - 1);
  }
});
