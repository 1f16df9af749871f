/**
 * `tributary bench latency`: how far behind live real players run. ffmpeg (Debian's) pushes a
 * live test pattern over RTMP to an in-process server; Chromium (Debian's, driven by
 * playwright-core) plays the stream's LL-HLS playlist with hls.js twice, once in low-latency
 * mode and once as a plain HLS client (lowLatencyMode off: whole segments, no blocking reload),
 * and reads hls.js's own `latency` every half second; one HTTP-FLV viewer measures the time from
 * its request to its first video frame.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { Server } from '../../server/Server.js';
import { parseConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { FlvDemuxer } from '../../media/flv/FlvDemuxer.js';
import { summarize } from '../percentiles.js';
import { formatColumns } from '../table.js';

export interface LatencyOptions {
  /** Seconds of sampling after the players settled. */
  duration: number;
  /** Keyframe interval, s (what the README tells OBS users for low delay: 1). */
  gop: number;
  json: boolean;
}

export const LATENCY_DEFAULTS: LatencyOptions = { duration: 20, gop: 1, json: false };

export interface LatencyResult {
  client: 'hls.js-ll' | 'hls.js-plain' | 'http-flv-join';
  /** hls.js clients: latency readings, s. http-flv-join: ms from request to first video frame, over `joins` viewers. */
  p50: number;
  p95: number;
  max: number;
  samples: number;
  unit: 's' | 'ms';
  errors: string[];
}

const CHROMIUM = '/usr/bin/chromium';

function need(bin: string, pkg: string): void {
  const r = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  if (r.error) throw new Error(`${bin} is required by bench latency (apt-get install -y ${pkg})`);
}

export async function runLatency(o: LatencyOptions): Promise<LatencyResult[]> {
  need('ffmpeg', 'ffmpeg');
  need(CHROMIUM, 'chromium');
  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const { httpPort, rtmpPort } = await server.start();
  const base = `http://127.0.0.1:${httpPort}`;
  let ffmpeg: ChildProcess | undefined;
  let browser: Browser | undefined;
  try {
    ffmpeg = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(30 * o.gop), '-keyint_min', String(30 * o.gop), '-sc_threshold', '0', '-bf', '0',
      '-pix_fmt', 'yuv420p', '-b:v', '1M', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/bench`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let ffErr = '';
    ffmpeg.stderr!.on('data', (d: Buffer) => (ffErr = (ffErr + d.toString()).slice(-2000)));
    await until(() => server.registry.find('live', 'bench')?.isLive === true, 15_000, () => `the ffmpeg push never went live: ${ffErr}`);
    // Two segments in the playlist before the players start, as a live viewer would find it.
    await sleep(2500);
    const joins: number[] = [];
    for (let i = 0; i < 10; i++) {
      joins.push(await flvJoin(`${base}/live/bench.flv`));
      await sleep(150);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
    });
    const clients = await Promise.all([hlsClient(browser, base, true), hlsClient(browser, base, false)]);
    await sleep(6000);
    const samples: number[][] = [[], []];
    const end = performance.now() + o.duration * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 2; i++) {
        const l = await clients[i]!.evaluate(() => (window as unknown as { hls: { latency: number } }).hls.latency);
        if (Number.isFinite(l) && l > 0) samples[i]!.push(l);
      }
      await sleep(500);
    }
    const errors = await Promise.all(clients.map((p) => p.evaluate(() => (window as unknown as { errors: string[] }).errors)));
    // Readings in ms through the shared summary (0.1 ms rounding), reported in s to 0.01.
    const hls = (client: LatencyResult['client'], s: number[], err: string[]): LatencyResult => {
      const p = summarize(s.map((x) => x * 1000));
      const sec = (ms: number) => Math.round(ms / 10) / 100;
      return { client, p50: sec(p.p50), p95: sec(p.p95), max: sec(p.max), samples: s.length, unit: 's', errors: err };
    };
    const j = summarize(joins);
    return [
      hls('hls.js-ll', samples[0]!, errors[0]!),
      hls('hls.js-plain', samples[1]!, errors[1]!),
      { client: 'http-flv-join', p50: j.p50, p95: j.p95, max: j.max, samples: 10, unit: 'ms', errors: [] },
    ];
  } finally {
    await browser?.close();
    ffmpeg?.kill('SIGKILL');
    await server.close();
  }
}

async function hlsClient(browser: Browser, base: string, lowLatency: boolean) {
  const page = await browser.newPage();
  // A blank page of the server's origin, so the playlist and hls.js load without CORS questions.
  await page.goto(`${base}/lib/hls.min.js`);
  await page.setContent(`<video id="v" muted playsinline></video>`);
  await page.addScriptTag({ url: `${base}/lib/hls.min.js` });
  await page.evaluate(({ src, ll }) => {
    const w = window as unknown as { Hls: any; hls: unknown; errors: string[] };
    const v = document.getElementById('v') as HTMLVideoElement;
    const hls = new w.Hls({ lowLatencyMode: ll });
    w.errors = [];
    hls.on(w.Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; details: string }) => d.fatal && w.errors.push(d.details));
    hls.loadSource(src);
    hls.attachMedia(v);
    hls.on(w.Hls.Events.MANIFEST_PARSED, () => void v.play());
    w.hls = hls;
  }, { src: `${base}/live/bench/index.m3u8`, ll: lowLatency });
  await page.waitForFunction(() => (document.getElementById('v') as HTMLVideoElement).currentTime > 1, null, { timeout: 20_000 });
  return page;
}

/** ms from an HTTP-FLV request to the first video frame parsed. */
function flvJoin(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const demuxer = new FlvDemuxer();
    const req = request(url, { agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (demuxer.push(chunk).some((x) => x.type === 'frame' && x.frame.kind === 'video')) {
          resolve(performance.now() - t0);
          req.destroy();
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(cond: () => boolean, ms: number, why: () => string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(why());
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function formatLatency(results: LatencyResult[]): string {
  const rows: Array<[string, (r: LatencyResult) => string]> = [
    ['what', (r) => (r.unit === 's' ? 'latency behind live, s' : 'request -> first video frame, ms')],
    ['p50 / p95 / max', (r) => `${r.p50} / ${r.p95} / ${r.max}`],
    ['samples', (r) => String(r.samples)],
    ['fatal errors', (r) => (r.errors.length ? r.errors.join(', ') : 'none')],
  ];
  return formatColumns(results.map((r) => r.client), results, rows);
}
