/**
 * origin-kill: the owner is killed (-9) mid-stream while the publisher has a second address.
 * Nodes: origin and second (the publisher's two addresses) and two edges, each with HTTP-FLV
 * viewers. Measured by the viewers themselves: the longest time without a new video frame around
 * the kill, whether their connection ended (they would have had to reconnect), and the frames
 * made by the publisher during the run that never reached them (lost at the source while it had
 * no node, or in flight to the dead one).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize } from '../percentiles.js';
import { survivingRecording } from './recordingGap.js';
import { ClusterPublisher } from './publisher.js';
import { BenchCluster, getJson, sleep, until } from './cluster.js';
import { BenchViewer } from './viewer.js';

export interface OriginKillOptions {
  viewersPerEdge: number;
  warmupS: number;
  afterS: number;
}

export interface OriginKillResult {
  scenario: 'origin-kill';
  viewerGapMs: { p50: number; max: number };
  viewersReconnected: number;
  /** Longest gap in the replica's recording (src/recording; record.replicas 2), ms; null when no recording survived. */
  recordingGapMs: number | null;
  framesLost: number;
}

export interface OriginKillDetail {
  result: OriginKillResult;
  viewers: number;
  ownerSeenMovedMs: number;
  framesLostMean: number;
  unsentAtSource: number;
  /** The node whose recording survived the kill (the stream's replica), and its segments. */
  recording: { node: string; segments: number; durationMs: number; framesLost: number } | undefined;
}

/** TRIBUTARY_BENCH_DEBUG=1: the nodes log at info and their cluster lines are printed at the end. */
const debug = process.env.TRIBUTARY_BENCH_DEBUG === '1';
const logLevel = debug ? 'info' : 'warn';

export async function originKill(o: OriginKillOptions): Promise<OriginKillDetail> {
  // Every node records app "live" with a second copy on a replica: the figure is the replica's gap.
  const recDir = mkdtempSync(join(tmpdir(), 'tributary-bench-rec-'));
  const config = join(recDir, 'config.json');
  writeFileSync(config, JSON.stringify({ apps: { live: { record: { path: join(recDir, '{node}/{app}/{key}'), segmentSeconds: 2, replicas: 2 } } } }));
  const args = ['--config', config];
  let out: OriginKillDetail | undefined;
  let killWall = 0;
  let made: number[] = [];
  const c = await BenchCluster.start();
  if (debug) c.onStop(() => {
    for (const n of c.nodes) for (const l of n.log().split('\n')) if (/"cluster|transport: publish/.test(l)) process.stderr.write(`${n.id} ${l.slice(0, 300)}\n`);
  });
  try {
    const [origin, second, e1, e2] = await Promise.all([
      c.node({ id: 'origin', region: 'r1', args, host: '127.0.1.31', logLevel }),
      c.node({ id: 'second', region: 'r1', args, host: '127.0.1.32', logLevel }),
      c.node({ id: 'edge1', region: 'r1', args, host: '127.0.1.33', logLevel }),
      c.node({ id: 'edge2', region: 'r1', args, host: '127.0.1.34', logLevel }),
    ]);
    const pub = new ClusterPublisher({ urls: [origin!.transportUrl('live', 'bench'), second!.transportUrl('live', 'bench')] });
    c.onStop(() => pub.stop());
    await pub.start();
    const owner = async (n = e1!) => (await getJson(`${n.httpBase}/api/route?app=live&key=bench`)).body.owner;
    await until('the edges see the origin own the stream', async () => (await owner(e1)) === 'origin' && (await owner(e2)) === 'origin');
    const viewers: BenchViewer[] = [];
    for (const e of [e1!, e2!]) for (let i = 0; i < o.viewersPerEdge; i++) viewers.push(new BenchViewer(`${e.httpBase}/live/bench.flv`, e.id));
    c.onStop(() => viewers.forEach((v) => v.close()));
    await until('every viewer has video', () => viewers.every((v) => v.videoTimes.length > 10));
    await sleep(o.warmupS * 1000);
    const from = performance.now();
    await sleep(1000);
    const killAt = performance.now();
    if (debug) process.stderr.write(`kill at ${new Date().toISOString()}\n`);
    killWall = Date.now();
    await origin!.kill();
    let movedAt = NaN;
    await until('the edges see a new owner', async () => {
      const ok = (await owner(e1)) === 'second';
      if (ok) movedAt = performance.now();
      return ok;
    });
    await sleep(o.afterS * 1000);
    const end = performance.now();
    // Frames made in [from, end - 1 s] (the last second may still be on its way).
    made = [...pub.producedAt].filter(([, t]) => t >= from && t <= end - 1000).map(([id]) => id);
    const lost = viewers.map((v) => made.filter((id) => !v.arrivals.has(id)).length);
    const gaps = viewers.map((v) => v.longestGap(from, end));
    const s = summarize(gaps);
    if (debug) for (const v of viewers) {
      const resumed = v.videoTimes.find((t) => t > killAt);
      process.stderr.write(`viewer on ${v.node}: gap ${Math.round(v.longestGap(from, end))} ms, first frame ${resumed === undefined ? 'never' : Math.round(resumed - killAt)} ms after the kill\n`);
    }
    const unsent = made.filter((id) => !pub.sentAt.has(id)).length;
    out = {
      result: {
        scenario: 'origin-kill',
        viewerGapMs: { p50: s.p50, max: s.max },
        viewersReconnected: viewers.filter((v) => v.ended !== undefined).length,
        recordingGapMs: null,
        framesLost: Math.max(...lost),
      },
      viewers: viewers.length,
      ownerSeenMovedMs: Math.round(movedAt - killAt),
      framesLostMean: Math.round((lost.reduce((a, b) => a + b, 0) / lost.length) * 10) / 10,
      unsentAtSource: unsent,
      recording: undefined,
    };
  } finally {
    await c.stop(); // the survivors shut down cleanly: their recordings end with an end line
  }
  const rec = survivingRecording(recDir, ['second', 'edge1', 'edge2'], 'live/bench', killWall);
  out.result.recordingGapMs = rec ? rec.gapMs : null;
  // Frames made while the publisher had no node are lost everywhere; the rest should all be in the recording.
  out.recording = rec && { node: rec.node, segments: rec.segments, durationMs: rec.durationMs, framesLost: made.filter((id) => !rec.ids.has(id)).length };
  rmSync(recDir, { recursive: true, force: true });
  return out;
}
