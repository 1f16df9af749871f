/**
 * etcd-member-kill: one of the three etcd members (the Raft leader unless told otherwise) is
 * killed -9 mid-stream. Nodes: origin (the publisher's node, owner, recording) and edge (its
 * HTTP-FLV viewers, relayed from the origin). Nothing a viewer can see should change: media never
 * waits for etcd, the nodes' etcd clients know all three endpoints and move to a live one, and
 * the two surviving members elect a leader that extends every lease, so no ownership moves.
 * The same figures as origin-kill, measured the same way (the viewers themselves), plus what
 * shows the kill did reach the nodes: watch breaks, failed record writes, lease grants, the
 * owner's token, and route answers polled on the edge through the kill.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeProcess } from '../../cluster/testing/NodeProcess.js';
import { summarize } from '../percentiles.js';
import { survivingRecording } from './recordingGap.js';
import { ClusterPublisher } from './publisher.js';
import { BenchCluster, getJson, sleep, until } from './cluster.js';
import { BenchViewer } from './viewer.js';

export interface EtcdMemberKillOptions {
  viewers: number;
  warmupS: number;
  afterS: number;
  victim: 'leader' | 'follower';
}

export interface EtcdMemberKillResult {
  scenario: 'etcd-member-kill';
  viewerGapMs: { p50: number; max: number };
  viewersReconnected: number;
  /** Longest gap in the owner's recording through the kill, ms; null when none spans it. */
  recordingGapMs: number | null;
  framesLost: number;
}

/** A node's /api/cluster counters that the kill can move. */
export interface EtcdCounters {
  recordWriteFailures: number;
  leaseGrants: number;
  watchDisconnects: number;
  claims: number;
  takeovers: number;
}

export interface EtcdMemberKillDetail {
  result: EtcdMemberKillResult;
  viewers: number;
  killed: { member: number; wasLeader: boolean };
  /** From the kill until a surviving member reports itself leader (0 when a follower was killed). */
  newLeaderMs: number;
  /** Where the longest gap of any viewer began, ms after the kill (negative: before it): the kill's doing or not. */
  longestGapAtMs: number;
  /** The same gap measure (max over the viewers) over the warmup before the measured window: what this machine does without a kill. */
  baselineGapMs: number;
  /** Route answers asked of the edge every 100 ms from 1 s before the kill to the end, and how many were not a 200 naming the origin. */
  routes: { asked: number; failed: number };
  ownerToken: { before: number; after: number };
  /** Per node, what changed in its counters from just before the kill to the end. */
  counters: Record<string, EtcdCounters>;
  recording: { node: string; segments: number; framesLost: number } | undefined;
}

const debug = process.env.TRIBUTARY_BENCH_DEBUG === '1';

export async function etcdMemberKill(o: EtcdMemberKillOptions): Promise<EtcdMemberKillDetail> {
  const recDir = mkdtempSync(join(tmpdir(), 'tributary-bench-rec-'));
  const config = join(recDir, 'config.json');
  writeFileSync(config, JSON.stringify({ apps: { live: { record: { path: join(recDir, '{node}/{app}/{key}'), segmentSeconds: 2 } } } }));
  const args = ['--config', config];
  const logLevel = debug ? 'info' : 'warn';
  let out: EtcdMemberKillDetail | undefined;
  let killWall = 0;
  let made: number[] = [];
  const c = await BenchCluster.start();
  if (debug) c.onStop(() => {
    for (const n of c.nodes) for (const l of n.log().split('\n')) if (/"cluster/.test(l)) process.stderr.write(`${n.id} ${l.slice(0, 300)}\n`);
  });
  try {
    const [origin, edge] = await Promise.all([
      c.node({ id: 'origin', region: 'r1', args, host: '127.0.1.75', logLevel }),
      c.node({ id: 'edge', region: 'r1', args, host: '127.0.1.76', logLevel }),
    ]);
    const pub = new ClusterPublisher({ urls: [origin!.transportUrl('live', 'bench')] });
    c.onStop(() => pub.stop());
    await pub.start();
    const route = async () => (await getJson(`${edge!.httpBase}/api/route?app=live&key=bench`).catch(() => ({ status: 0, body: {} }))) as { status: number; body: Record<string, unknown> };
    await until('the edge sees the origin own the stream', async () => (await route()).body.owner === 'origin');
    const viewers = Array.from({ length: o.viewers }, () => new BenchViewer(`${edge!.httpBase}/live/bench.flv`, edge!.id));
    c.onStop(() => viewers.forEach((v) => v.close()));
    await until('every viewer has video', () => viewers.every((v) => v.videoTimes.length > 10));
    const warmFrom = performance.now();
    await sleep(o.warmupS * 1000);

    // The victim is chosen before the measured window: asking the members for their status opens
    // gRPC channels in this process, whose viewers' timestamps are the measurement.
    const leader = await c.etcd.leaderIndex();
    if (leader < 0) throw new Error('bench cluster: no etcd leader before the kill');
    const member = o.victim === 'leader' ? leader : (leader + 1) % 3;
    const tokenBefore = await ownerToken(edge!);
    const before = await Promise.all([origin!, edge!].map(counters));
    const from = performance.now();
    const routes = { asked: 0, failed: 0 };
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const r = await route();
        routes.asked++;
        if (r.status !== 200 || r.body.node !== 'origin') routes.failed++;
        await sleep(100);
      }
    })();
    await sleep(1000);
    const killAt = performance.now();
    killWall = Date.now();
    await c.etcd.stopMember(member);
    let newLeaderMs = 0;
    if (member === leader) {
      await until('a new etcd leader', () => c.etcd.hasLeader(), 15_000);
      newLeaderMs = Math.round(performance.now() - killAt);
    }
    await sleep(o.afterS * 1000);
    const end = performance.now();
    polling = false;
    await poller;
    const after = await Promise.all([origin!, edge!].map(counters));
    const tokenAfter = await ownerToken(edge!);

    made = [...pub.producedAt].filter(([, t]) => t >= from && t <= end - 1000).map(([id]) => id);
    const lost = viewers.map((v) => made.filter((id) => !v.arrivals.has(id)).length);
    const s = summarize(viewers.map((v) => v.longestGap(from, end)));
    const worst = viewers.reduce((a, v) => (v.longestGap(from, end) > a.longestGap(from, end) ? v : a));
    const longestGapAtMs = Math.round(gapStart(worst.videoTimes, from, end) - killAt);
    const baseline = Math.max(...viewers.map((v) => v.longestGap(warmFrom, from)));
    out = {
      result: { scenario: 'etcd-member-kill', viewerGapMs: { p50: s.p50, max: s.max }, viewersReconnected: viewers.filter((v) => v.ended !== undefined).length, recordingGapMs: null, framesLost: Math.max(...lost) },
      viewers: viewers.length,
      killed: { member, wasLeader: member === leader },
      newLeaderMs,
      longestGapAtMs,
      baselineGapMs: Math.round(baseline * 10) / 10,
      routes,
      ownerToken: { before: tokenBefore, after: tokenAfter },
      counters: { origin: delta(before[0]!, after[0]!), edge: delta(before[1]!, after[1]!) },
      recording: undefined,
    };
  } finally {
    await c.stop(); // the nodes shut down cleanly: the recording ends with an end line
  }
  const rec = survivingRecording(recDir, ['origin'], 'live/bench', killWall);
  out.result.recordingGapMs = rec ? rec.gapMs : null;
  out.recording = rec && { node: rec.node, segments: rec.segments, framesLost: made.filter((id) => !rec.ids.has(id)).length };
  rmSync(recDir, { recursive: true, force: true });
  return out;
}

/** Start of the longest stretch without a video frame in [from, until] (BenchViewer.longestGap's). */
function gapStart(times: number[], from: number, until: number): number {
  let last = from;
  let best = { gap: 0, at: from };
  for (const t of times) {
    if (t < from) continue;
    if (t > until) break;
    if (t - last > best.gap) best = { gap: t - last, at: last };
    last = t;
  }
  return until - last > best.gap ? last : best.at;
}

async function counters(n: NodeProcess): Promise<EtcdCounters> {
  const r = await getJson(`${n.httpBase}/api/cluster`);
  const k = (r.body.counters ?? {}) as Record<string, number>;
  return { recordWriteFailures: k.recordWriteFailures ?? NaN, leaseGrants: k.leaseGrants ?? NaN, watchDisconnects: k.watchDisconnects ?? NaN, claims: k.claims ?? NaN, takeovers: k.takeovers ?? NaN };
}

function delta(a: EtcdCounters, b: EtcdCounters): EtcdCounters {
  return { recordWriteFailures: b.recordWriteFailures - a.recordWriteFailures, leaseGrants: b.leaseGrants - a.leaseGrants, watchDisconnects: b.watchDisconnects - a.watchDisconnects, claims: b.claims - a.claims, takeovers: b.takeovers - a.takeovers };
}

/** The stream's fencing token in the edge's view (a new one would mean ownership was claimed again). */
async function ownerToken(edge: NodeProcess): Promise<number> {
  const r = await getJson(`${edge.httpBase}/api/cluster`);
  const owners = (r.body.owners ?? {}) as Record<string, { token?: number }>;
  return owners['live/bench']?.token ?? NaN;
}
