/**
 * `tributary bench dashboard`: how long /dashboard takes to load and draw with many live
 * streams and a full history. A server in a process of its own (serverMain.ts); `streams` live streams, most pushed
 * over RTMP (the fanout bench's synthetic H.264 + AAC source), `transport` of them by
 * `tributary send` (a looped file ffmpeg makes), each with one HTTP-FLV viewer; the sampler is
 * driven fast (every `sampleMs`) until its ring holds `samples` samples of real figures, then
 * Chromium loads the page `loads` times. A load's time is from navigation start to the first
 * draw of the last plot built at load (uPlot's draw hook), as the page itself reports it: the
 * plots of the streams in view (the page builds the others as they scroll near). Each load
 * then forces every stream's plots (drawAll) and times that too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Sender } from '../../client/send/Sender.js';
import type { ServerAddresses } from '../../server/Server.js';
import { DEFAULT_SAMPLER_OPTIONS } from '../../server/stats/StatsSampler.js';
import { RtmpPushClient } from '../../server/rtmp/RtmpPushClient.js';
import { AUDIO_CONFIG, VIDEO_CONFIG, makeSource, toMediaFrame } from '../fanout/stream.js';
import { summarize } from '../percentiles.js';
import { findProcess, treeCpuSeconds } from './procCpu.js';
import { formatColumns } from '../table.js';

export interface DashboardBenchOptions {
  streams: number;
  transport: number;
  samples: number;
  sampleMs: number;
  loads: number;
  bitrate: number;
}

export interface DashboardBenchResult {
  streams: number;
  transportStreams: number;
  samples: number;
  charts: number;
  jsonBytes: number;
  coldLoadMs: number;
  loadMs: { p50: number; max: number };
  /** The page's main-thread busy time over the same loads (scripts, layout, drawing). */
  mainThreadMs: { p50: number; max: number };
  /** CPU time of the browser's processes over the same span (10 ms resolution): the work itself, whatever the load. */
  browserCpuMs: { p50: number; max: number };
  /** Then every stream's plots forced (drawAll): how many, and how long their build and first draw took. */
  allCharts: number;
  allChartsDrawMs: { p50: number; max: number };
  loadAverage: number;
}

const CHROMIUM = '/usr/bin/chromium';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function makeFile(dir: string): string {
  const file = join(dir, 'src.flv');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4', '-f', 'lavfi', '-i', 'sine=duration=4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', file]);
  if (r.error || r.status !== 0) throw new Error(`ffmpeg is required for the transport streams: ${r.error?.message ?? r.stderr?.toString()}`);
  return file;
}

/** The server's process (serverMain): its ports, and a question-answer line channel to it. */
async function startServer(sampleMs: number, dir: string): Promise<{ child: ChildProcess; ports: ServerAddresses; ask(line: string): Promise<{ ticks: number; streams: number }> }> {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const main = fileURLToPath(new URL(`./serverMain.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  const child = spawn(process.execPath, [...(fromSource ? ['--import', 'tsx'] : []), main, JSON.stringify({ sampleMs, dir })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  lines.on('line', (l) => waiting.shift()?.resolve(l));
  child.once('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the bench server exited (${code})`));
  });
  const next = (): Promise<string> => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  const ports = JSON.parse(await next()) as ServerAddresses;
  return { child, ports, ask: async (line) => (child.stdin!.write(line + '\n'), JSON.parse(await next())) };
}

export async function runDashboardBench(o: DashboardBenchOptions): Promise<DashboardBenchResult> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is required (apt-get install -y chromium)`);
  const dir = mkdtempSync(join(tmpdir(), 'trib-dash-bench-'));
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const pushers: RtmpPushClient[] = [];
  const senders: Sender[] = [];
  const viewers: AbortController[] = [];
  const timers: NodeJS.Timeout[] = [];
  // A profile of its own: it names this browser's processes among other Chromiums on the machine.
  const profile = join(dir, 'profile');
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    server = await startServer(o.sampleMs, dir);
    const { ports } = server;
    const base = `http://127.0.0.1:${ports.httpPort}`;
    const rtmp = o.streams - o.transport;
    const t0 = performance.now();
    const sources: Array<{ push: RtmpPushClient; source: ReturnType<typeof makeSource> }> = [];
    for (let i = 0; i < rtmp; i++) {
      const push = await RtmpPushClient.publish(`rtmp://127.0.0.1:${ports.rtmpPort}/live/s${String(i).padStart(2, '0')}`);
      push.sendMetadata({ width: 320, height: 240, videocodecid: 7, audiocodecid: 10, framerate: 30 });
      push.sendConfig(VIDEO_CONFIG);
      push.sendConfig(AUDIO_CONFIG);
      pushers.push(push);
      sources.push({ push, source: makeSource(o.bitrate * 1e6, i + 1) });
    }
    timers.push(setInterval(() => {
      const now = performance.now() - t0;
      for (const { push, source } of sources) for (const f of source.take(now)) push.sendFrame(toMediaFrame(f));
    }, 10));
    if (o.transport > 0) {
      const file = makeFile(dir);
      for (let i = 0; i < o.transport; i++) senders.push(await Sender.start({ input: file, loop: true, output: `tributary://127.0.0.1:${ports.transportPort}/live/tx${i}` }));
    }
    const live = async (): Promise<number> => ((await (await fetch(`${base}/api/streams`)).json()) as { streams: { live: boolean; video: unknown }[] }).streams.filter((s) => s.live && s.video).length;
    for (let end = Date.now() + 30_000; (await live()) < o.streams; await sleep(200)) if (Date.now() > end) throw new Error(`only ${await live()} of ${o.streams} streams went live`);
    const paths = ((await (await fetch(`${base}/api/streams`)).json()) as { streams: { app: string; key: string }[] }).streams.map((s) => `${s.app}/${s.key}`);
    for (const path of paths) {
      const ac = new AbortController();
      viewers.push(ac);
      void fetch(`${base}/${path}.flv`, { signal: ac.signal }).then(async (res) => {
        const r = res.body!.getReader();
        for (;;) if ((await r.read()).done) break;
      }).catch(() => undefined);
    }
    // Fill the ring with real samples, faster than the server's own once a second.
    let filled = await server.ask('fill');
    for (let end = Date.now() + 120_000; filled.ticks < o.samples + 5; await sleep(200)) {
      if (Date.now() > end) throw new Error(`the sampler took only ${filled.ticks} samples in 120 s (the process is starved)`);
      filled = await server.ask('ticks');
    }

    const loadOnce = async (): Promise<{ ms: number; busyMs: number; cpuMs: number; allMs: number; allCharts: number; charts: number; bytes: number; timing: Record<string, number> }> => {
      const page = await browser.newPage();
      await page.setViewportSize({ width: 1400, height: 1000 });
      // The main thread's busy time (Chrome's own TaskDuration): the page's work, apart from
      // the waiting a shared, loaded machine adds to the wall time.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      const busy = async (): Promise<number> => {
        const { metrics } = await cdp.send('Performance.getMetrics');
        return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN) * 1000;
      };
      const browserPid = findProcess(profile);
      const cpu = (): number => (browserPid === undefined ? NaN : treeCpuSeconds(browserPid) * 1000);
      try {
        const busy0 = await busy();
        const cpu0 = cpu();
        await page.goto(`${base}/dashboard`);
        await page.waitForFunction(() => (window as unknown as { tributaryDashboard: { drawnAt?: number } }).tributaryDashboard.drawnAt !== undefined, undefined, { timeout: 30_000 });
        type D = { drawnAt: number; allDrawnAt?: number; chartCount(): number; drawAll(): void; firstSnapshotBytes: number; timing: Record<string, number> };
        const r = await page.evaluate(() => {
          const d = (window as unknown as { tributaryDashboard: D }).tributaryDashboard;
          // Where the time went: the navigation's and each fetched file's phases (ms since navigation start).
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
          const phases: Record<string, number> = nav ? { htmlStart: nav.responseStart, htmlEnd: nav.responseEnd, domInteractive: nav.domInteractive } : {};
          for (const e of performance.getEntriesByType('resource') as PerformanceResourceTiming[]) {
            const name = new URL(e.name).pathname.split('/').pop()!;
            phases[`${name}:start`] = e.requestStart;
            phases[`${name}:firstByte`] = e.responseStart;
            phases[`${name}:end`] = e.responseEnd;
          }
          return { ms: d.drawnAt, charts: d.chartCount(), bytes: d.firstSnapshotBytes, timing: { ...d.timing, ...phases } };
        });
        const busyMs = (await busy()) - busy0;
        if (process.env['TRIBUTARY_BENCH_DEBUG']) {
          const { metrics } = await cdp.send('Performance.getMetrics');
          console.error(JSON.stringify(Object.fromEntries(metrics.filter((m) => /Duration/.test(m.name)).map((m) => [m.name, Math.round(m.value * 1000)]))));
        }
        const cpuMs = cpu() - cpu0;
        // Then every plot, in view or not: what a page drawing all fifty streams at once would cost.
        await page.evaluate(() => (window as unknown as { tributaryDashboard: D }).tributaryDashboard.drawAll());
        await page.waitForFunction(() => (window as unknown as { tributaryDashboard: D }).tributaryDashboard.allDrawnAt !== undefined, undefined, { timeout: 60_000 });
        const all = await page.evaluate(() => {
          const d = (window as unknown as { tributaryDashboard: D }).tributaryDashboard;
          return { at: d.allDrawnAt!, charts: d.chartCount() };
        });
        return { ...r, busyMs, cpuMs, allMs: all.at - r.ms, allCharts: all.charts };
      } finally {
        await page.close();
      }
    };
    const cold = await loadOnce();
    if (process.env['TRIBUTARY_BENCH_DEBUG']) console.error(JSON.stringify({ cold: true, ms: cold.ms, ...cold.timing }));
    const warm: number[] = [];
    const busy: number[] = [];
    const allDraw: number[] = [];
    const browserCpu: number[] = [];
    let last = cold;
    for (let i = 0; i < o.loads; i++) {
      last = await loadOnce();
      warm.push(last.ms);
      busy.push(last.busyMs);
      allDraw.push(last.allMs);
      browserCpu.push(last.cpuMs);
      if (process.env['TRIBUTARY_BENCH_DEBUG']) console.error(JSON.stringify({ ms: last.ms, ...last.timing }));
    }
    const s = summarize(warm);
    return {
      streams: o.streams,
      transportStreams: o.transport,
      samples: Math.min(filled.ticks, DEFAULT_SAMPLER_OPTIONS.capacity),
      charts: last.charts,
      jsonBytes: last.bytes,
      coldLoadMs: Math.round(cold.ms),
      loadMs: { p50: Math.round(s.p50), max: Math.round(s.max) },
      mainThreadMs: { p50: Math.round(summarize(busy).p50), max: Math.round(summarize(busy).max) },
      browserCpuMs: { p50: Math.round(summarize(browserCpu).p50), max: Math.round(summarize(browserCpu).max) },
      allCharts: last.allCharts,
      allChartsDrawMs: { p50: Math.round(summarize(allDraw).p50), max: Math.round(summarize(allDraw).max) },
      loadAverage: Math.round(loadavg()[0]! * 10) / 10,
    };
  } finally {
    for (const t of timers) clearInterval(t);
    for (const v of viewers) v.abort();
    await browser.close();
    for (const p of pushers) p.close();
    await Promise.all(senders.map((x) => x.close()));
    if (server) {
      const exited = once(server.child, 'exit');
      server.child.kill('SIGTERM');
      const t = setTimeout(() => server!.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatDashboardBench(r: DashboardBenchResult): string {
  return formatColumns(['dashboard'], [r], [
    ['streams (transport)', (x) => `${x.streams} (${x.transportStreams})`],
    ['samples per series', (x) => String(x.samples)],
    ['charts drawn at load (streams in view)', (x) => String(x.charts)],
    ['/api/stats bytes', (x) => String(x.jsonBytes)],
    ['first load, ms', (x) => String(x.coldLoadMs)],
    ['load+draw p50, ms', (x) => String(x.loadMs.p50)],
    ['load+draw max, ms', (x) => String(x.loadMs.max)],
    ['main thread busy p50, ms', (x) => String(x.mainThreadMs.p50)],
    ['main thread busy max, ms', (x) => String(x.mainThreadMs.max)],
    ['browser CPU p50, ms', (x) => String(x.browserCpuMs.p50)],
    ['all charts (drawAll)', (x) => String(x.allCharts)],
    ['all charts build+draw p50, ms', (x) => String(x.allChartsDrawMs.p50)],
    ['load average', (x) => String(x.loadAverage)],
  ]);
}
