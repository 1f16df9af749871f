/**
 * edge-kill: viewers on an edge lose it (kill -9) and come back through `?route=1`: each asks a
 * surviving node for `/live/KEY.flv?route=1&region=eu`, follows the 302 to the node the route
 * names, and retries every RETRY_MS while that fails (the dead edge stays in the views until its
 * lease runs out, ~2 s). resumeMs: from the kill to a viewer's first frame on its new connection.
 * Nodes: origin (region core) and edge1, edge2 (region eu); the viewers start on the edge the
 * route names (edge1: both carry nothing at first, ties go by id).
 */
import { summarize } from '../percentiles.js';
import { ClusterPublisher } from './publisher.js';
import { BenchCluster, getJson, sleep, until } from './cluster.js';
import { BenchViewer } from './viewer.js';

const RETRY_MS = 100;

export interface EdgeKillOptions {
  viewers: number;
  afterS: number;
}

export interface EdgeKillResult {
  scenario: 'edge-kill';
  resumeMs: { p50: number; max: number };
}

export interface EdgeKillDetail {
  result: EdgeKillResult;
  viewers: number;
  resumed: number;
  /** Where the viewers ended, by node. */
  landedOn: Record<string, number>;
  attempts: number;
}

/** A viewer that follows `?route=1` and comes back the same way when its connection ends. */
class RoutedViewer {
  current: BenchViewer | undefined;
  resumedAt: number | undefined;
  attempts = 0;
  private stopped = false;
  private after = Infinity;

  constructor(private readonly entry: () => string) {}

  /** Connects (and reconnects) until stopped; frames after `since` on a later connection mark the resume. */
  async run(): Promise<void> {
    while (!this.stopped) {
      const v = this.current;
      if (v && v.ended === undefined) {
        if (this.resumedAt === undefined && v.videoTimes.length && v.videoTimes[0]! > this.after) this.resumedAt = v.videoTimes[0];
        await sleep(20);
        continue;
      }
      this.attempts++;
      try {
        const res = await fetch(this.entry(), { redirect: 'manual' });
        await res.body?.cancel();
        const location = res.headers.get('location');
        if (res.status === 302 && location) this.current = new BenchViewer(location, new URL(location).host);
      } catch {
        /* the entry node is down: next try */
      }
      await sleep(RETRY_MS);
    }
  }

  resumeAfter(t: number): void {
    this.after = t;
  }

  stop(): void {
    this.stopped = true;
    this.current?.close();
  }
}

export async function edgeKill(o: EdgeKillOptions): Promise<EdgeKillDetail> {
  const c = await BenchCluster.start();
  try {
    const [origin, e1, e2] = await Promise.all([
      c.node({ id: 'origin', region: 'core', host: '127.0.1.61' }),
      c.node({ id: 'edge1', region: 'eu', host: '127.0.1.62' }),
      c.node({ id: 'edge2', region: 'eu', host: '127.0.1.63' }),
    ]);
    const pub = new ClusterPublisher({ urls: [origin!.transportUrl('live', 'edge')] });
    c.onStop(() => pub.stop());
    await pub.start();
    await until('the edges see the owner', async () => (await getJson(`${e2!.httpBase}/api/route?app=live&key=edge&region=eu`)).status === 200);
    // Entry points: any node that answers (the origin here; it never dies in this scenario).
    const entry = () => `${origin!.httpBase}/live/edge.flv?route=1&region=eu`;
    const viewers = Array.from({ length: o.viewers }, () => new RoutedViewer(entry));
    c.onStop(() => viewers.forEach((v) => v.stop()));
    for (const v of viewers) void v.run();
    await until('every viewer has video', () => viewers.every((v) => (v.current?.videoTimes.length ?? 0) > 10));
    const victim = viewers[0]!.current!.node;
    const node = [e1!, e2!].find((n) => `${n.o.host}:${n.httpPort}` === victim);
    if (!node) throw new Error(`bench cluster: the viewers are on ${victim}, not on an edge`);
    await sleep(2000);
    const killAt = performance.now();
    for (const v of viewers) v.resumeAfter(killAt);
    await node.kill();
    await until('every viewer resumed', () => viewers.every((v) => v.resumedAt !== undefined), 15_000).catch(() => undefined);
    await sleep(o.afterS * 1000);
    const resumed = viewers.filter((v) => v.resumedAt !== undefined);
    // A viewer that never came back counts as the whole wait.
    const times = viewers.map((v) => (v.resumedAt ?? performance.now()) - killAt);
    const s = summarize(times);
    const landedOn: Record<string, number> = {};
    for (const v of viewers) landedOn[v.current?.node ?? 'none'] = (landedOn[v.current?.node ?? 'none'] ?? 0) + 1;
    return {
      result: { scenario: 'edge-kill', resumeMs: { p50: s.p50, max: s.max } },
      viewers: viewers.length,
      resumed: resumed.length,
      landedOn,
      attempts: viewers.reduce((a, v) => a + v.attempts, 0),
    };
  } finally {
    await c.stop();
  }
}
