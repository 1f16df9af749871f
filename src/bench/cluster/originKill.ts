/**
 * origin-kill: the owner is killed (-9) mid-stream while the publisher has a second address.
 * Nodes: origin and second (the publisher's two addresses) and two edges, each with HTTP-FLV
 * viewers. Measured by the viewers themselves: the longest time without a new video frame around
 * the kill, whether their connection ended (they would have had to reconnect), and the frames
 * made by the publisher during the run that never reached them (lost at the source while it had
 * no node, or in flight to the dead one).
 */
import { summarize } from '../percentiles.js';
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
  /** Recording is not built yet: null, said so in the table. */
  recordingGapMs: number | null;
  framesLost: number;
}

export interface OriginKillDetail {
  result: OriginKillResult;
  viewers: number;
  ownerSeenMovedMs: number;
  framesLostMean: number;
  unsentAtSource: number;
}

export async function originKill(o: OriginKillOptions): Promise<OriginKillDetail> {
  const c = await BenchCluster.start();
  try {
    const [origin, second, e1, e2] = await Promise.all([
      c.node({ id: 'origin', region: 'r1', host: '127.0.1.31' }),
      c.node({ id: 'second', region: 'r1', host: '127.0.1.32' }),
      c.node({ id: 'edge1', region: 'r1', host: '127.0.1.33' }),
      c.node({ id: 'edge2', region: 'r1', host: '127.0.1.34' }),
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
    const made = [...pub.producedAt].filter(([, t]) => t >= from && t <= end - 1000).map(([id]) => id);
    const lost = viewers.map((v) => made.filter((id) => !v.arrivals.has(id)).length);
    const gaps = viewers.map((v) => v.longestGap(from, end));
    const s = summarize(gaps);
    const unsent = made.filter((id) => !pub.sentAt.has(id)).length;
    return {
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
    };
  } finally {
    await c.stop();
  }
}
