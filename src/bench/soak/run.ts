/**
 * `tributary bench soak`: one `tributary serve` process under a day's worth of trouble in an
 * hour. Publishers (RTMP, some restarting), viewers across HTTP-FLV, WS-FLV, RTMP and the
 * transport (most keep up; some read slowly, some never read; some come and go), and one hostile
 * client per protocol, all at once. Every `--sample` seconds it reads the server's RSS (from
 * /proc), its event-loop delay (prom-client's monitor, from /metrics) and how long /healthz
 * takes to answer. At the end: RSS over time and its spread after warm-up, event-loop delay
 * p99/max, frames lost by viewers that kept up, and how every connection ended, by class.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../fanout/servers.js';
import { formatColumns } from '../table.js';
import type { HostileTarget } from './hostile.js';
import { SoakPublisher } from './publishers.js';
import { openViewer, type Behaviour, type Protocol, type SoakViewer, type ViewerTarget } from './viewers.js';

export interface SoakOptions {
  duration: number;
  publishers: number;
  viewers: number;
  /** Mbit/s per publisher. */
  bitrate: number;
  /** Seconds between restarts of a restarting publisher (a fifth of them restart). */
  restartEvery: number;
  warmup: number;
  sample: number;
  hostile: boolean;
  seed: number;
  json: boolean;
}

export const SOAK_DEFAULTS: SoakOptions = {
  duration: 3600, publishers: 20, viewers: 1000, bitrate: 0.25, restartEvery: 60, warmup: 60, sample: 10, hostile: true, seed: 1, json: false,
};

/** Shares of the viewers: who they are and what they speak (sums to 1). */
const MIX: Array<{ protocol: Protocol; behaviour: Behaviour; share: number }> = [
  { protocol: 'flv', behaviour: 'legit', share: 0.4 },
  { protocol: 'ws', behaviour: 'legit', share: 0.2 },
  { protocol: 'rtmp', behaviour: 'legit', share: 0.1 },
  { protocol: 'transport', behaviour: 'legit', share: 0.05 },
  { protocol: 'flv', behaviour: 'slow', share: 0.08 },
  { protocol: 'ws', behaviour: 'slow', share: 0.04 },
  { protocol: 'flv', behaviour: 'dead', share: 0.09 },
  { protocol: 'ws', behaviour: 'dead', share: 0.04 },
];
/** Fraction of the keeping-up viewers that leave and come back, and how often each does. */
const CHURN = { share: 0.1, everyS: 30 };
/** A /healthz that takes longer than this means the server is gone (or as good as gone). */
const HEALTH_GIVE_UP_MS = 15_000;
/** prom-client samples the loop every 10 ms; its figures include that interval. */
const ELD_RESOLUTION_MS = 10;

export interface SoakSample {
  t: number;
  rssMiB: number;
  loopP99Ms: number;
  loopMaxMs: number;
  healthzMs: number;
  viewers: number;
}

export interface SoakResult {
  impl: 'tributary';
  durationS: number;
  publishers: number;
  viewers: number;
  samples: SoakSample[];
  rssMiB: { warm: number; min: number; max: number; last: number; spread: number };
  eventLoopMs: { p99: number; p99Median: number; max: number };
  healthzMs: { max: number; p99: number };
  /**
   * `lost`: frames keeping-up viewers should have had and did not, less `givenUpByTransport`:
   * frames a transport viewer's sender gave up under its deadline rules (its promise is "on
   * time or not at all", and under CPU starvation frames are predicted late), told apart by the
   * message ids the viewer never got (ViewerAccount.givenUp).
   */
  legit: { connections: number; received: number; lost: number; lostByProtocol: Record<string, number>; givenUpByTransport: number };
  ended: Record<string, Record<string, number>>;
  publisherRestarts: number;
  publisherErrors: Record<string, number>;
  hostile: Record<string, number>;
  serverCounters: Record<string, number>;
  serverExit: string | undefined;
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-soak-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({}));
  const server = await startServer('tributary', ['--config', config]);
  let serverExit: string | undefined;
  const t: ViewerTarget = { host: '127.0.0.1', httpPort: server.httpPort, rtmpPort: server.rtmpPort, transportPort: server.transportPort, app: 'live', key: '', localAddress: '127.0.0.1' };
  const publisherErrors: Record<string, number> = {};
  const publishers: SoakPublisher[] = [];
  for (let i = 0; i < o.publishers; i++) {
    publishers.push(new SoakPublisher({
      url: `rtmp://127.0.0.1:${server.rtmpPort}/live/soak${i}`,
      localAddress: `127.0.2.${1 + (i % 250)}`,
      bitrateBps: o.bitrate * 1e6,
      seed: o.seed + i,
      restartEveryMs: i % 5 === 0 ? o.restartEvery * 1000 * (0.8 + (0.4 * i) / Math.max(1, o.publishers)) : undefined,
      downMs: 500 + (i % 3) * 500,
      onError: (cls) => (publisherErrors[cls] = (publisherErrors[cls] ?? 0) + 1),
    }));
  }
  const pubTimer = setInterval(() => publishers.forEach((p) => p.tick()), 10);
  await sleep(2000);

  const viewers: Array<{ v: SoakViewer; stream: number; churn: boolean; nextChurn: number }> = [];
  const finished: SoakViewer[] = [];
  /** Connections opened by churn, reported apart: one may join in the very turn a publisher leaves. */
  const rejoined = new Set<SoakViewer>();
  // Viewers come from VIEWERS_PER_ADDRESS each of many loopback addresses: the server caps
  // connections per address (limits.perAddress), and a thousand viewers behind one address is
  // not what it serves.
  let opened = 0;
  const open = (protocol: Protocol, behaviour: Behaviour, stream: number): SoakViewer =>
    openViewer(protocol, behaviour, { ...t, key: `soak${stream}`, localAddress: viewerAddress(opened++) }, publishers[stream]!.ledger);
  let k = 0;
  for (const m of MIX) {
    const n = Math.round(m.share * o.viewers);
    for (let i = 0; i < n; i++, k++) {
      const stream = k % o.publishers;
      const churn = m.behaviour === 'legit' && i < n * CHURN.share;
      viewers.push({ v: open(m.protocol, m.behaviour, stream), stream, churn, nextChurn: churn ? Math.random() * CHURN.everyS * 1000 : Infinity });
      if (k % 50 === 49) await sleep(50); // joins spread a little, as real ones are
    }
  }
  const hostile = o.hostile ? startHostile({ ...t, localAddress: '127.0.3.1' }) : undefined;

  const t0 = performance.now();
  const churnTimer = setInterval(() => {
    const now = performance.now() - t0;
    for (const e of viewers) {
      if (now < e.nextChurn) continue;
      e.v.close();
      finished.push(e.v);
      e.v = open(e.v.protocol, e.v.behaviour, e.stream);
      rejoined.add(e.v);
      e.nextChurn = now + CHURN.everyS * 1000 * (0.5 + Math.random());
    }
  }, 500);

  const samples: SoakSample[] = [];
  const startCounters = await counters(server);
  for (let next = o.sample * 1000; next <= o.duration * 1000; next += o.sample * 1000) {
    await sleep(Math.max(0, next - (performance.now() - t0)));
    const s = await sample(server, (performance.now() - t0) / 1000, viewers.filter((e) => e.v.ended === undefined).length);
    if (!s) {
      serverExit = 'the server stopped answering';
      break;
    }
    samples.push(s);
    process.stderr.write(`soak ${s.t.toFixed(0)} s: rss ${s.rssMiB.toFixed(0)} MiB, loop p99 ${s.loopP99Ms} ms max ${s.loopMaxMs} ms, healthz ${s.healthzMs} ms, viewers open ${s.viewers}\n`);
  }
  const endCounters = serverExit ? {} : await counters(server);
  clearInterval(churnTimer);
  clearInterval(pubTimer);
  const hostileCounts = hostile ? await stopHostile(hostile) : {};
  for (const p of publishers) p.stop();
  for (const e of viewers) finished.push(e.v);
  const ended: Record<string, Record<string, number>> = {};
  const legit = { connections: 0, received: 0, lost: 0, lostByProtocol: {} as Record<string, number>, givenUpByTransport: 0 };
  for (const v of finished) {
    const cls = `${v.protocol}/${v.behaviour}${rejoined.has(v) ? '/rejoined' : ''}`;
    const why = v.ended ?? 'open at the end';
    (ended[cls] ??= {})[why] = (ended[cls]![why] ?? 0) + 1;
    if (v.behaviour !== 'legit') continue;
    legit.connections++;
    legit.received += v.account.received;
    const givenUp = v.account.givenUp;
    legit.givenUpByTransport += givenUp;
    legit.lost += v.account.lost - givenUp;
    legit.lostByProtocol[v.protocol] = (legit.lostByProtocol[v.protocol] ?? 0) + v.account.lost - givenUp;
  }
  for (const e of viewers) e.v.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });

  const warm = samples.filter((s) => s.t >= o.warmup);
  const rss = warm.map((s) => s.rssMiB);
  const warmRss = rss[0] ?? 0;
  const p99s = samples.map((s) => s.loopP99Ms).sort((a, b) => a - b);
  const hz = samples.map((s) => s.healthzMs).sort((a, b) => a - b);
  const serverCounters: Record<string, number> = {};
  for (const [name, v] of Object.entries(endCounters)) {
    const d = v - (startCounters[name] ?? 0);
    if (d > 0) serverCounters[name] = d;
  }
  return {
    impl: 'tributary',
    durationS: o.duration,
    publishers: o.publishers,
    viewers: viewers.length,
    samples,
    rssMiB: {
      warm: round(warmRss), min: round(Math.min(...rss)), max: round(Math.max(...rss)), last: round(rss[rss.length - 1] ?? 0),
      spread: warmRss ? round((Math.max(...rss) - Math.min(...rss)) / warmRss, 3) : 0,
    },
    eventLoopMs: { p99: p99s[p99s.length - 1] ?? 0, p99Median: p99s[Math.floor(p99s.length / 2)] ?? 0, max: Math.max(0, ...samples.map((s) => s.loopMaxMs)) },
    healthzMs: { max: hz[hz.length - 1] ?? 0, p99: hz[Math.min(hz.length - 1, Math.floor(hz.length * 0.99))] ?? 0 },
    legit,
    ended,
    publisherRestarts: publishers.reduce((n, p) => n + p.restarts, 0),
    publisherErrors,
    hostile: hostileCounts,
    serverCounters,
    serverExit,
  };
}

/** The hostile clients' process (hostileMain): this checkout's TypeScript through tsx, or dist. */
function startHostile(target: HostileTarget): ChildProcess {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const main = fileURLToPath(new URL(`./hostileMain.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return spawn(process.execPath, [...(fromSource ? ['--import', 'tsx'] : []), main, JSON.stringify(target)], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function stopHostile(child: ChildProcess): Promise<Record<string, number>> {
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  try {
    return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, number>;
  } catch {
    return { hostile_process_lost: 1 };
  }
}

async function sample(server: RunningServer, t: number, open: number): Promise<SoakSample | undefined> {
  const h0 = performance.now();
  // "stopped answering" is a server that took more than HEALTH_GIVE_UP_MS; a slow answer is a figure
  const health = await get(server.httpPort, '/healthz', HEALTH_GIVE_UP_MS);
  const healthzMs = round(performance.now() - h0, 1);
  if (health === undefined) return undefined;
  const metrics = await get(server.httpPort, '/metrics', HEALTH_GIVE_UP_MS);
  const read = (name: string): number => {
    const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(metrics ?? '');
    return m ? Number(m[1]) * 1000 : NaN;
  };
  const lag = (name: string): number => round(Math.max(0, read(name) - ELD_RESOLUTION_MS), 1);
  let rssMiB = 0;
  try {
    rssMiB = server.rssMiB();
  } catch {
    return undefined;
  }
  return { t: round(t), rssMiB: round(rssMiB, 1), loopP99Ms: lag('nodejs_eventloop_lag_p99_seconds'), loopMaxMs: lag('nodejs_eventloop_lag_max_seconds'), healthzMs, viewers: open };
}

/** The server's own counters (`tributary_*_total`, summed over labels). */
async function counters(server: RunningServer): Promise<Record<string, number>> {
  const text = (await get(server.httpPort, '/metrics', HEALTH_GIVE_UP_MS)) ?? '';
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(tributary_\w+_total)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    // Keyed by the reason label, or for the skips by protocol: whether a protocol's losses are
    // the server skipping its viewers shows there.
    const label = m[1] === 'tributary_viewer_skipped_frames_total' ? 'protocol' : 'reason';
    const v = m[2] ? new RegExp(`${label}="([^"]+)"`).exec(m[2]) : null;
    const name = m[1]! + (v ? `{${v[1]}}` : '');
    out[name] = (out[name] ?? 0) + Number(m[3]);
  }
  return out;
}

function get(port: number, path: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Addresses 127.0.1.1 - 127.0.1.250, then 127.0.4.x ...: a few viewers each, churn included. */
const VIEWERS_PER_ADDRESS = 4;
function viewerAddress(n: number): string {
  const a = Math.floor(n / VIEWERS_PER_ADDRESS) % 1000;
  const third = a < 250 ? 1 : 3 + Math.floor(a / 250);
  return `127.0.${third}.${1 + (a % 250)}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 0) => Math.round(x * 10 ** d) / 10 ** d;

export function formatSoak(r: SoakResult): string {
  const every = Math.max(1, Math.ceil(r.samples.length / 12));
  const lines = ['RSS over time (MiB): ' + r.samples.filter((_, i) => i % every === 0 || i === r.samples.length - 1).map((s) => `${s.t}s=${s.rssMiB}`).join(' ')];
  const rows: Array<[string, (x: SoakResult) => string]> = [
    ['duration s / publishers / viewers', (x) => `${x.durationS} / ${x.publishers} / ${x.viewers}`],
    ['RSS after warm-up MiB: first/min/max/last (spread)', (x) => `${x.rssMiB.warm}/${x.rssMiB.min}/${x.rssMiB.max}/${x.rssMiB.last} (${x.rssMiB.spread})`],
    ['event-loop delay ms: worst p99 / median p99 / max', (x) => `${x.eventLoopMs.p99} / ${x.eventLoopMs.p99Median} / ${x.eventLoopMs.max}`],
    ['/healthz ms: p99 / max', (x) => `${x.healthzMs.p99} / ${x.healthzMs.max}`],
    ['keeping-up viewers: connections / frames / lost', (x) => `${x.legit.connections} / ${x.legit.received} / ${x.legit.lost}`],
    ['lost by protocol', (x) => JSON.stringify(x.legit.lostByProtocol)],
    ['given up by the transport (deadline rules), not in lost', (x) => String(x.legit.givenUpByTransport)],
    ['publisher restarts / errors', (x) => `${x.publisherRestarts} / ${JSON.stringify(x.publisherErrors)}`],
    ['server', (x) => x.serverExit ?? 'up throughout'],
  ];
  lines.push(formatColumns([r.impl], [r], rows));
  lines.push('connections ended, by class: ' + JSON.stringify(r.ended));
  lines.push('hostile clients: ' + JSON.stringify(r.hostile));
  lines.push('server counters: ' + JSON.stringify(r.serverCounters));
  return lines.join('\n');
}
