/**
 * `tributary bench fanout`: one RTMP publisher, N HTTP-FLV viewers on loopback, the same run
 * against tributary and Node-Media-Server. Reports what a viewer sees (delay from the publisher
 * handing a frame over to the viewer getting it, join time, frames received) and what the
 * server pays (CPU share of one core, resident memory, egress).
 */
import { RtmpPushClient } from '../../server/rtmp/RtmpPushClient.js';
import { summarize, type LatencySummary } from '../percentiles.js';
import { formatColumns } from '../table.js';
import { startServer, type ServerImpl } from './servers.js';
import { AUDIO_CONFIG, makeSource, toMediaFrame, VIDEO_CONFIG } from './stream.js';
import { FlvViewer } from './viewers.js';

export interface FanoutOptions {
  impl: ServerImpl | 'both';
  viewers: number;
  /** Media bitrate, Mbit/s. */
  bitrate: number;
  /** Measured seconds (after the viewers joined). */
  duration: number;
  seed: number;
  json: boolean;
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
const GRACE_MS = 1500;
const TICK_MS = 5;

export async function runFanout(o: FanoutOptions): Promise<FanoutResult[]> {
  if (!Number.isInteger(o.viewers) || o.viewers < 1 || o.viewers > 5000) throw new Error('--viewers must be 1..5000');
  if (!(o.duration > 0) || !(o.bitrate > 0)) throw new Error('--duration and --bitrate must be positive');
  const impls: ServerImpl[] = o.impl === 'both' ? ['tributary', 'nms'] : [o.impl];
  const out: FanoutResult[] = [];
  for (const impl of impls) out.push(await runOne(impl, o));
  return out;
}

async function runOne(impl: ServerImpl, o: FanoutOptions): Promise<FanoutResult> {
  const server = await startServer(impl);
  const viewers: FlvViewer[] = [];
  let pusher: RtmpPushClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    pusher = await RtmpPushClient.publish(`rtmp://127.0.0.1:${server.rtmpPort}/live/bench`);
    pusher.sendMetadata({ width: 320, height: 240, videocodecid: 7, audiocodecid: 10, framerate: 30 });
    pusher.sendConfig(VIDEO_CONFIG);
    pusher.sendConfig(AUDIO_CONFIG);
    const source = makeSource(o.bitrate * 1e6, o.seed);
    const sentAt = new Map<number, number>();
    const t0 = performance.now();
    const push = pusher;
    // Frames go out on the media clock; a timer tick late only delays them, as an encoder would.
    const tick = (): void => {
      const now = performance.now();
      for (const f of source.take(now - t0)) {
        sentAt.set(f.id, now);
        push.sendFrame(toMediaFrame(f));
      }
    };
    timer = setInterval(tick, TICK_MS);
    await sleep(WARMUP_MS / 2);

    const window = { from: Infinity, until: Infinity };
    const lookup = (id: number): number | undefined => sentAt.get(id);
    for (let i = 0; i < o.viewers; i++) {
      viewers.push(new FlvViewer(server.flvUrl('live', 'bench'), lookup, window));
      if (i % 20 === 19) await sleep(10); // a crowd arriving, not one syn flood
    }
    await sleep(WARMUP_MS);
    const cpu0 = server.cpuSeconds();
    const bytes0 = viewers.reduce((n, v) => n + v.stats.bytes, 0);
    window.from = performance.now();
    await sleep(o.duration * 1000);
    window.until = performance.now();
    const cpu1 = server.cpuSeconds();
    const bytes1 = viewers.reduce((n, v) => n + v.stats.bytes, 0);
    const rss = server.rssMiB();
    await sleep(GRACE_MS); // frames sent just before the end are still on their way

    let sentInWindow = 0;
    for (const t of sentAt.values()) if (t >= window.from && t <= window.until) sentInWindow++;
    const delays: number[] = [];
    const joins: number[] = [];
    let received = 0;
    let errors = 0;
    for (const v of viewers) {
      for (const d of v.stats.delays) delays.push(d);
      if (v.stats.joinMs !== undefined) joins.push(v.stats.joinMs);
      received += v.stats.received;
      if (v.stats.error) errors++;
    }
    const seconds = (window.until - window.from) / 1000;
    return {
      impl,
      viewers: o.viewers,
      bitrateMbps: o.bitrate,
      durationS: o.duration,
      latencyMs: summarize(delays),
      joinMs: summarize(joins),
      deliveredRatio: sentInWindow ? Math.round((received / (sentInWindow * o.viewers)) * 1e4) / 1e4 : 0,
      viewerErrors: errors,
      serverCpuPct: Math.round(((cpu1 - cpu0) / seconds) * 1000) / 10,
      serverRssMiB: Math.round(rss),
      egressMbps: Math.round(((bytes1 - bytes0) * 8) / seconds / 1e4) / 100,
    };
  } finally {
    if (timer) clearInterval(timer);
    for (const v of viewers) v.close();
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
