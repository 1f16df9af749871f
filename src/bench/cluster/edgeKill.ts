/**
 * edge-kill: viewers on an edge lose it (kill -9) and come back through `?route=1`: each asks a
 * surviving node for `/live/KEY.flv?route=1&region=eu`, follows the 302 to the node the route
 * names, and retries every RETRY_MS while that fails (the dead edge stays in the views until its
 * lease runs out, ~2 s). resumeMs: from the kill to a viewer's first frame on its new connection.
 * Beside them, the player page in Chromium, opened on the origin with `?route=1`: it asks the
 * origin where to play, plays WS-FLV from the edge named, and asks again (naming the lost node
 * in `avoid=`) when that edge goes; its resume is the first frame painted on another node.
 * The stream is ffmpeg's test pattern pushed over RTMP to the origin, so a browser decodes it.
 * Nodes: origin (region core) and edge1, edge2 (region eu); the viewers start on the edge the
 * route names (edge1: both carry nothing at first, ties go by id; the page then joins the edge
 * already carrying the stream).
 */
import { summarize } from '../percentiles.js';
import { BenchCluster, getJson, sleep, until } from './cluster.js';
import { PageViewer, pushTestPattern } from './pageViewer.js';
import { BenchViewer } from './viewer.js';

const RETRY_MS = 100;

export interface EdgeKillOptions {
  viewers: number;
  afterS: number;
}

export interface EdgeKillResult {
  scenario: 'edge-kill';
  /** HTTP-FLV viewers and the player page together. */
  resumeMs: { p50: number; max: number };
  /** The player page's alone (null: it never painted a frame on another node). */
  pageResumeMs: number | null;
}

export interface EdgeKillDetail {
  result: EdgeKillResult;
  viewers: number;
  resumed: number;
  /** Where the viewers ended, by node. */
  landedOn: Record<string, number>;
  attempts: number;
  /** Where the page played after the kill. */
  pageLandedOn: string | null;
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
    const pub = pushTestPattern(`rtmp://${origin!.o.host}:${origin!.rtmpPort}/live/edge`);
    c.onStop(() => void pub.kill('SIGKILL'));
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
    const page = await PageViewer.open(`${origin!.httpBase}/play/live/edge?route=1&region=eu&proto=ws-flv`);
    c.onStop(() => page.close());
    await until('the page plays', async () => (await page.playingOn()) !== undefined, 30_000);
    const pageNode = await page.playingOn();
    if (pageNode !== node.id) throw new Error(`bench cluster: the page plays from ${pageNode}, not from the viewers' edge ${node.id}`);
    await sleep(2000);
    const killAt = performance.now();
    const killWall = Date.now();
    for (const v of viewers) v.resumeAfter(killAt);
    await node.kill();
    const pageBack = async () => (await page.resumedAfter(killWall, node.id)) !== undefined;
    await until('every viewer resumed', async () => viewers.every((v) => v.resumedAt !== undefined) && (await pageBack()), 15_000).catch(() => undefined);
    await sleep(o.afterS * 1000);
    const resumed = viewers.filter((v) => v.resumedAt !== undefined);
    const pageMs = await page.resumedAfter(killWall, node.id);
    // A viewer that never came back counts as the whole wait.
    const times = viewers.map((v) => (v.resumedAt ?? performance.now()) - killAt);
    times.push(pageMs ?? performance.now() - killAt);
    const s = summarize(times);
    const landedOn: Record<string, number> = {};
    for (const v of viewers) landedOn[v.current?.node ?? 'none'] = (landedOn[v.current?.node ?? 'none'] ?? 0) + 1;
    return {
      result: { scenario: 'edge-kill', resumeMs: { p50: s.p50, max: s.max }, pageResumeMs: pageMs === undefined ? null : Math.round(pageMs) },
      viewers: viewers.length,
      resumed: resumed.length,
      landedOn,
      attempts: viewers.reduce((a, v) => a + v.attempts, 0),
      pageLandedOn: pageMs === undefined ? null : ((await page.playingOn()) ?? null),
    };
  } finally {
    await c.stop();
  }
}
