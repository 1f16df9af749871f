/**
 * A crowd of HTTP-FLV viewers on one URL and what serving them cost a server process: the
 * viewers arrive 20 at a time, get `warmupMs` to join (and then until every one has its first
 * video frame, up to JOIN_WAIT_MS), then a window of `durationS` is measured (the server's CPU
 * from /proc, egress, each frame's delay). A window opened while viewers were still joining
 * counted the frames before each late join as lost (an edge whose joins took 2.9 s p50 showed
 * 97.6% delivered where its viewers, once joined, missed nothing); join times are reported apart. Shared by `bench fanout` and
 * `bench cluster --scenario fanout`, so the two benches drive the same load the same way.
 */
import { summarize, type LatencySummary } from '../percentiles.js';
import { FlvViewer } from './viewers.js';

export interface CrowdOptions {
  url: string;
  viewers: number;
  durationS: number;
  /** Send time of each frame id (the publisher's). */
  sentAt: Map<number, number>;
  /** CPU seconds the server process has used so far. */
  cpuSeconds: () => number;
  /** Called at the end of the window (before the grace period), e.g. to read the server's memory. */
  atWindowEnd?: () => void;
  warmupMs?: number;
}

/** The window opens once every viewer has joined, or after this long past the warm-up whatever joined. */
const JOIN_WAIT_MS = 30_000;

export interface CrowdResult {
  latencyMs: LatencySummary;
  joinMs: LatencySummary;
  /** Frames received / (frames sent in the window x viewers). */
  deliveredRatio: number;
  viewerErrors: number;
  /** The viewers' errors by message (an HTTP status, a socket error), most common first. */
  errorKinds: Record<string, number>;
  /** Viewers with no error that got at least 99% of the frames sent in the window. */
  viewersOk: number;
  /** Viewers that had their first video frame when the window opened (the rest count their misses). */
  joinedAtWindow: number;
  /** Server CPU in the measured window, percent of one core. */
  serverCpuPct: number;
  /** CPU of this process (the viewers, the publisher) in the window, percent of one core: near 100, the load generator is the limit. */
  clientCpuPct: number;
  egressMbps: number;
}

const GRACE_MS = 1500;

export async function runCrowd(o: CrowdOptions): Promise<CrowdResult> {
  const warmupMs = o.warmupMs ?? 2000;
  const viewers: FlvViewer[] = [];
  try {
    const window = { from: Infinity, until: Infinity };
    const lookup = (id: number): number | undefined => o.sentAt.get(id);
    for (let i = 0; i < o.viewers; i++) {
      viewers.push(new FlvViewer(o.url, lookup, window));
      if (i % 20 === 19) await sleep(10); // a crowd arriving, not one syn flood
    }
    await sleep(warmupMs);
    const joinUntil = performance.now() + JOIN_WAIT_MS;
    while (performance.now() < joinUntil && viewers.some((v) => v.stats.joinMs === undefined && !v.stats.error)) await sleep(50);
    const joinedAtWindow = viewers.filter((v) => v.stats.joinMs !== undefined).length;
    const cpu0 = o.cpuSeconds();
    const own0 = process.cpuUsage();
    const bytes0 = viewers.reduce((n, v) => n + v.stats.bytes, 0);
    window.from = performance.now();
    await sleep(o.durationS * 1000);
    window.until = performance.now();
    const cpu1 = o.cpuSeconds();
    const own = process.cpuUsage(own0);
    const bytes1 = viewers.reduce((n, v) => n + v.stats.bytes, 0);
    o.atWindowEnd?.();
    await sleep(GRACE_MS); // frames sent just before the end are still on their way

    let sentInWindow = 0;
    for (const t of o.sentAt.values()) if (t >= window.from && t <= window.until) sentInWindow++;
    const delays: number[] = [];
    const joins: number[] = [];
    let received = 0;
    let errors = 0;
    let ok = 0;
    const kinds = new Map<string, number>();
    for (const v of viewers) {
      for (const d of v.stats.delays) delays.push(d);
      if (v.stats.joinMs !== undefined) joins.push(v.stats.joinMs);
      received += v.stats.received;
      if (v.stats.error) {
        errors++;
        kinds.set(v.stats.error, (kinds.get(v.stats.error) ?? 0) + 1);
      } else if (sentInWindow > 0 && v.stats.received >= 0.99 * sentInWindow) ok++;
    }
    const seconds = (window.until - window.from) / 1000;
    return {
      latencyMs: summarize(delays),
      joinMs: summarize(joins),
      deliveredRatio: sentInWindow ? Math.round((received / (sentInWindow * o.viewers)) * 1e4) / 1e4 : 0,
      viewerErrors: errors,
      errorKinds: Object.fromEntries([...kinds].sort((a, b) => b[1] - a[1]).slice(0, 5)),
      viewersOk: ok,
      joinedAtWindow,
      serverCpuPct: Math.round(((cpu1 - cpu0) / seconds) * 1000) / 10,
      clientCpuPct: Math.round((own.user + own.system) / 1e4 / seconds),
      egressMbps: Math.round(((bytes1 - bytes0) * 8) / seconds / 1e4) / 100,
    };
  } finally {
    for (const v of viewers) v.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
