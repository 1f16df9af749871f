/**
 * `tributary bench fanout`: one RTMP publisher, N HTTP-FLV viewers on loopback, the same run
 * against tributary and Node-Media-Server. Reports what a viewer sees (delay from the publisher
 * handing a frame over to the viewer getting it, join time, frames received) and what the
 * server pays (CPU share of one core, resident memory, egress).
 */
import type { LatencySummary } from '../percentiles.js';
import { formatColumns } from '../table.js';
import { startServer, type ServerImpl } from './servers.js';
import { publishFanout, type FanoutPublisher } from './publisher.js';
import { runCrowd } from './crowd.js';

export interface FanoutOptions {
  impl: ServerImpl | 'both';
  viewers: number;
  /** Media bitrate, Mbit/s. */
  bitrate: number;
  /** Measured seconds (after the viewers joined). */
  duration: number;
  seed: number;
  json: boolean;
  /** tributary only: passed to its `serve` as --config. */
  serverConfig?: string;
}

export const FANOUT_DEFAULTS: FanoutOptions = { impl: 'both', viewers: 100, bitrate: 2, duration: 20, seed: 1, json: false };

export interface FanoutResult {
  impl: ServerImpl;
  viewers: number;
  bitrateMbps: number;
  durationS: number;
  latencyMs: LatencySummary;
  joinMs: LatencySummary;
  /** Frames received / (frames sent in the window x viewers). */
  deliveredRatio: number;
  viewerErrors: number;
  /** Server CPU in the measured window, percent of one core. */
  serverCpuPct: number;
  serverRssMiB: number;
  egressMbps: number;
}

const WARMUP_MS = 2000;

export async function runFanout(o: FanoutOptions): Promise<FanoutResult[]> {
  if (!Number.isInteger(o.viewers) || o.viewers < 1 || o.viewers > 5000) throw new Error('--viewers must be 1..5000');
  if (!(o.duration > 0) || !(o.bitrate > 0)) throw new Error('--duration and --bitrate must be positive');
  const impls: ServerImpl[] = o.impl === 'both' ? ['tributary', 'nms'] : [o.impl];
  const out: FanoutResult[] = [];
  for (const impl of impls) out.push(await runOne(impl, o));
  return out;
}

async function runOne(impl: ServerImpl, o: FanoutOptions): Promise<FanoutResult> {
  const server = await startServer(impl, impl === 'tributary' && o.serverConfig ? ['--config', o.serverConfig] : []);
  let pusher: FanoutPublisher | undefined;
  try {
    pusher = await publishFanout(`rtmp://127.0.0.1:${server.rtmpPort}/live/bench`, o.bitrate * 1e6, o.seed);
    await sleep(WARMUP_MS / 2);

    let rss = 0;
    const c = await runCrowd({ url: server.flvUrl('live', 'bench'), viewers: o.viewers, durationS: o.duration, sentAt: pusher.sentAt, cpuSeconds: () => server.cpuSeconds(), atWindowEnd: () => (rss = server.rssMiB()), warmupMs: WARMUP_MS });
    return {
      impl,
      viewers: o.viewers,
      bitrateMbps: o.bitrate,
      durationS: o.duration,
      latencyMs: c.latencyMs,
      joinMs: c.joinMs,
      deliveredRatio: c.deliveredRatio,
      viewerErrors: c.viewerErrors,
      serverCpuPct: c.serverCpuPct,
      serverRssMiB: Math.round(rss),
      egressMbps: c.egressMbps,
    };
  } finally {
    pusher?.close();
    await server.stop();
  }
}

export function formatFanout(results: FanoutResult[]): string {
  const rows: Array<[string, (r: FanoutResult) => string]> = [
    ['viewers x Mbit/s', (r) => `${r.viewers} x ${r.bitrateMbps}`],
    ['delay p50/p95/p99/max ms', (r) => `${r.latencyMs.p50}/${r.latencyMs.p95}/${r.latencyMs.p99}/${r.latencyMs.max}`],
    ['join (first video) p50/max ms', (r) => `${r.joinMs.p50}/${r.joinMs.max}`],
    ['frames delivered', (r) => `${(r.deliveredRatio * 100).toFixed(2)}%`],
    ['viewer errors', (r) => String(r.viewerErrors)],
    ['server CPU (% of one core)', (r) => `${r.serverCpuPct}`],
    ['server RSS MiB', (r) => `${r.serverRssMiB}`],
    ['egress Mbit/s', (r) => `${r.egressMbps}`],
  ];
  return formatColumns(results.map((r) => r.impl), results, rows);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
