/**
 * `tributary bench webrtc`: capture-to-display delay through the server's WebRTC paths.
 * Chromium (Debian's, via playwright-core) publishes a canvas with its capture time drawn in
 * (see pages.ts) and a tone with WHIP to an in-process server; a second Chromium page plays it
 * with WHEP and reads the time back from each frame it presents; an ffmpeg HTTP-FLV viewer
 * (which makes the server transcode the browser's Opus to AAC) reads it from each frame it
 * decodes. opusToAacMs is how long audio waits in that transcoder (input packet to AAC frame).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';
import { parseConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { Server } from '../../server/Server.js';
import { WhipSession } from '../../server/webrtc/WhipSession.js';
import { summarize } from '../percentiles.js';
import { formatColumns } from '../table.js';
import { barcodeDelay, HEIGHT, PUBLISH_SCRIPT, readBarcode, VIEW_SCRIPT, WIDTH } from './pages.js';

export interface WebrtcBenchOptions {
  /** Seconds of readings after the viewers settled. */
  duration: number;
  /** The WHEP page takes the audio track too (default); false: video only. */
  whepAudio: boolean;
  json: boolean;
}

export interface WebrtcBenchResult {
  whepDelayMs: { p50: number; p95: number };
  flvDelayMs: { p50: number };
  opusToAacMs: { p50: number };
}

const CHROMIUM = '/usr/bin/chromium';

function need(bin: string, pkg: string): void {
  const r = spawnSync(bin, ['--version'], { stdio: 'ignore' });
  if (r.error) throw new Error(`${bin} is required by bench webrtc (apt-get install -y ${pkg})`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(what());
    await sleep(50);
  }
}

/** ffmpeg decoding the HTTP-FLV output to grey frames; each frame's barcode delay goes to `out`. */
function flvViewer(url: string, out: { delays: number[]; recording: boolean }): ChildProcess {
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay', '-i', url,
    '-an', '-fps_mode', 'passthrough', '-vf', `scale=${WIDTH}:${HEIGHT}`, '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const size = WIDTH * HEIGHT;
  let buf: Buffer = Buffer.alloc(0);
  p.stdout!.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    while (buf.length >= size) {
      const frame = buf.subarray(0, size);
      const now = Date.now();
      if (out.recording) out.delays.push(barcodeDelay(readBarcode(frame, WIDTH, HEIGHT, 1), now));
      buf = buf.subarray(size);
    }
  });
  return p;
}

export async function runWebrtcBench(o: WebrtcBenchOptions): Promise<{ result: WebrtcBenchResult; samples: { whep: number; flv: number; opusToAac: number }; p95: { flv: number; opusToAac: number } }> {
  need('ffmpeg', 'ffmpeg');
  need(CHROMIUM, 'chromium');
  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent', webrtc: { portMin: 23500, portMax: 23599 } }), { logger: createLogger('silent') });
  const { httpPort } = await server.start();
  const base = `http://127.0.0.1:${httpPort}`;
  let browser: Browser | undefined;
  let ffmpeg: ChildProcess | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required',
        '--disable-features=WebRtcHideLocalIpsWithMdns', '--disable-background-timer-throttling', '--disable-renderer-backgrounding'],
    });
    const pub = await browser.newPage();
    await pub.goto(`${base}/healthz`);
    await pub.evaluate(PUBLISH_SCRIPT(`${base}/whip/live/bench`));
    await until(() => (server.registry.find('live', 'bench')?.framesIn ?? 0) > 30, 20_000, () => 'the WHIP publisher sent no video');
    const flv = { delays: [] as number[], recording: false };
    ffmpeg = flvViewer(`${base}/live/bench.flv`, flv);
    const view = await browser.newPage();
    await view.goto(`${base}/healthz`);
    await view.evaluate(VIEW_SCRIPT(`${base}/whep/live/bench`, o.whepAudio));
    // Let both viewers (and the sender's bitrate) settle before readings count.
    await sleep(5000);
    const publisher = server.registry.find('live', 'bench')?.publisher;
    if (!(publisher instanceof WhipSession)) throw new Error('the stream is not published by WHIP');
    const aacFrom = publisher.transcodeDelayMs.length;
    await view.evaluate('window.delays = []');
    flv.recording = true;
    await sleep(o.duration * 1000);
    flv.recording = false;
    const whep = (await view.evaluate('window.delays')) as number[];
    const aac = publisher.transcodeDelayMs.slice(aacFrom);
    // A frame whose barcode did not read (a block blurred) gives a delay far off: kept out.
    const plausible = (d: number) => d >= 0 && d < 10_000;
    const w = summarize(whep.filter(plausible));
    const f = summarize(flv.delays.filter(plausible));
    const a = summarize(aac);
    if (whep.length === 0) throw new Error('the WHEP page displayed no frame');
    if (flv.delays.length === 0) throw new Error('the HTTP-FLV viewer decoded no frame');
    return {
      result: { whepDelayMs: { p50: w.p50, p95: w.p95 }, flvDelayMs: { p50: f.p50 }, opusToAacMs: { p50: a.p50 } },
      samples: { whep: whep.filter(plausible).length, flv: flv.delays.filter(plausible).length, opusToAac: aac.length },
      p95: { flv: f.p95, opusToAac: a.p95 },
    };
  } finally {
    ffmpeg?.kill('SIGKILL');
    await browser?.close().catch(() => undefined);
    await server.close();
  }
}

export function formatWebrtc(r: Awaited<ReturnType<typeof runWebrtcBench>>): string {
  const rows: Array<[string, (x: typeof r) => string]> = [
    ['WHEP capture->display p50 / p95, ms', (x) => `${x.result.whepDelayMs.p50} / ${x.result.whepDelayMs.p95} (${x.samples.whep} frames)`],
    ['HTTP-FLV capture->decode p50 / p95, ms', (x) => `${x.result.flvDelayMs.p50} / ${x.p95.flv} (${x.samples.flv} frames)`],
    ['Opus->AAC in ffmpeg p50 / p95, ms', (x) => `${x.result.opusToAacMs.p50} / ${x.p95.opusToAac} (${x.samples.opusToAac} frames)`],
  ];
  return formatColumns(['webrtc'], [r], rows);
}
