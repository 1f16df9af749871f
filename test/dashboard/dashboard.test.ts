import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Sender } from '../../src/client/send/Sender.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import type { StatsSnapshot, StreamHistory } from '../../src/server/stats/snapshot.js';
import { httpGet, pushRtmp, requireProgram, stop, waitFor } from '../server/http/tools.js';

const CHROMIUM = '/usr/bin/chromium';
let server: Server;
let base: string;
let push: ChildProcess;
let sender: Sender;
/** The sender's own loss figure every 200 ms, to compare the plotted one with what it said then. */
const senderLoss: Array<{ at: number; loss: number }> = [];
let lossTimer: NodeJS.Timeout | undefined;
let browser: Browser;
let dir: string;
const viewers: AbortController[] = [];

/** An HTTP-FLV viewer reading (and dropping) the stream until aborted. */
async function flvViewer(url: string): Promise<void> {
  const ac = new AbortController();
  viewers.push(ac);
  const res = await fetch(url, { signal: ac.signal });
  assert.equal(res.status, 200);
  void (async () => {
    const r = res.body!.getReader();
    for (;;) if ((await r.read()).done) break;
  })().catch(() => undefined);
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is required for this test (apt-get install -y chromium)`);
  requireProgram('ffmpeg');
  dir = mkdtempSync(join(tmpdir(), 'trib-dash-'));
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, transport: { keyFile: join(dir, 'server.key') } }), { logger: createLogger('silent') });
  const ports = await server.start();
  base = `http://127.0.0.1:${ports.httpPort}`;
  // Two real publishers: ffmpeg over RTMP, and the project's sender over the transport.
  push = pushRtmp(`rtmp://127.0.0.1:${ports.rtmpPort}/live/cam`, 600);
  const flv = join(dir, 'src.flv');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4', '-f', 'lavfi', '-i', 'sine=duration=4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', flv]);
  assert.equal(r.status, 0, r.stderr?.toString());
  sender = await Sender.start({ input: flv, loop: true, output: `tributary://127.0.0.1:${ports.transportPort}/live/tx` });
  lossTimer = setInterval(() => {
    senderLoss.push({ at: Date.now(), loss: sender.status().lossBeforeRepair });
    if (senderLoss.length > 300) senderLoss.shift();
  }, 200);
  await waitFor('both streams live', () => (server.registry.find('live', 'cam')?.videoConfig && server.registry.find('live', 'tx')?.videoConfig ? true : undefined), 15_000);
  await flvViewer(`${base}/live/cam.flv`);
  await flvViewer(`${base}/live/cam.flv`);
  await flvViewer(`${base}/live/tx.flv`);
  // Enough seconds of history for rates (a delta needs two samples) and several sender reports.
  await waitFor('6 samples with viewers', () => (server.stats.ticks >= 8 ? true : undefined), 15_000);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
});

after(async () => {
  clearInterval(lossTimer);
  for (const v of viewers) v.abort();
  await browser?.close();
  await sender?.close();
  if (push) await stop(push);
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Plot = { labels: string[]; data: (number | null)[][] };
const plot = (page: Page, path: string, name: string) =>
  page.evaluate(([p, n]) => (window as unknown as { tributaryDashboard: { plot(p: string, n: string): Plot | undefined } }).tributaryDashboard.plot(p!, n!), [path, name]);

/** The values of one series at the page's sample times, looked up in a server snapshot. */
function serverValues(snap: StatsSnapshot, h: StreamHistory, values: (number | null)[], times: number[]): Map<number, number | null> {
  const out = new Map<number, number | null>();
  snap.t.forEach((t, i) => {
    if (i >= h.start && times.includes(t / 1000)) out.set(t / 1000, values[i - h.start] ?? null);
  });
  return out;
}

const last = (xs: (number | null)[], n: number) => xs.filter((x): x is number => x !== null).slice(-n);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('the dashboard plots live data, and the data behind the plots is the server\'s', { timeout: 60_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${base}/dashboard`);
    await page.waitForFunction(() => (window as unknown as { tributaryDashboard: { drawnAt?: number } }).tributaryDashboard.drawnAt !== undefined, undefined, { timeout: 10_000 });
    const drawnAt = await page.evaluate(() => (window as unknown as { tributaryDashboard: { drawnAt: number } }).tributaryDashboard.drawnAt);
    console.log(`dashboard drawn ${drawnAt.toFixed(0)} ms after navigation start (2 streams)`);
    // Let the page take a couple of incremental updates (?since=) on top of its first load.
    const updates0 = await page.evaluate(() => (window as unknown as { tributaryDashboard: { updates: number } }).tributaryDashboard.updates);
    await page.waitForFunction((u) => (window as unknown as { tributaryDashboard: { updates: number } }).tributaryDashboard.updates >= u + 2, updates0, { timeout: 10_000 });

    const bitrate = (await plot(page, 'live/cam', 'bitrate'))!;
    const fps = (await plot(page, 'live/cam', 'fps'))!;
    const views = (await plot(page, 'live/cam', 'viewers'))!;
    const rtt = (await plot(page, 'live/tx', 'rtt'))!;
    const rate = (await plot(page, 'live/tx', 'rate'))!;
    const loss = (await plot(page, 'live/tx', 'loss'))!;
    const snap = (await (await fetch(`${base}/api/stats`)).json()) as StatsSnapshot;
    const api = (await (await fetch(`${base}/api/streams/live/cam`)).json()) as { bitrateKbps: number; fps: number; viewers: Record<string, number> };

    // Non-empty series of plausible figures: ffmpeg sends 30 fps H.264 + AAC, two FLV viewers watch.
    assert.deepEqual(bitrate.labels, ['in', 'out']);
    const inK = last(bitrate.data[1]!, 5);
    const outK = last(bitrate.data[2]!, 5);
    assert.ok(inK.length === 5 && inK.every((k) => k > 50 && k < 5000), `bitrate in ${inK}`);
    assert.ok(Math.abs(mean(inK) - api.bitrateKbps) < 0.4 * api.bitrateKbps, `plotted bitrate in ${mean(inK)} vs the API's ${api.bitrateKbps}`);
    // Two viewers: out is about twice in (FLV tags add a little, the GOP replay a burst at the start).
    assert.ok(Math.abs(mean(outK) / mean(inK) - 2) < 0.5, `bitrate out ${mean(outK)} for in ${mean(inK)} and two viewers`);
    // Frames counted between samples: one sample jitters with ffmpeg's pacing on a busy machine, the mean does not.
    const f = last(fps.data[1]!, 8);
    assert.ok(f.length === 8 && mean(f) > 27 && mean(f) < 33 && f.every((x) => x > 10 && x < 60), `fps ${fps.data[1]}`);
    assert.deepEqual(views.labels, ['http-flv']);
    assert.equal(last(views.data[1]!, 1)[0], api.viewers['http-flv']);
    assert.equal(api.viewers['http-flv'], 2);

    // The page's values are the server's, sample by sample (same time, same value).
    const cam = snap.streams.find((h) => h.path === 'live/cam')!;
    const times = bitrate.data[0] as number[];
    const server = serverValues(snap, cam, cam.series['bitrateInKbps']!, times);
    assert.ok(server.size >= 5, `${server.size} samples in common`);
    for (const [t, v] of server) assert.equal(bitrate.data[1]![times.indexOf(t)], v, `bitrate in at ${t}`);
    const fpsServer = serverValues(snap, cam, cam.series['fps']!, times);
    for (const [t, v] of fpsServer) assert.equal(fps.data[1]![times.indexOf(t)], v, `fps at ${t}`);

    // The transport publisher: the sender's reported figures, checked against the server's own count.
    const tx = snap.streams.find((h) => h.path === 'live/tx')!;
    assert.equal(tx.publisher?.protocol, 'tributary');
    const rttMs = last(rtt.data[1]!, 3);
    // A plausible loopback RTT, not a speed figure: under CI's load one sample read 134 ms.
    assert.ok(rttMs.length === 3 && rttMs.every((r) => r >= 0 && r < 1000), `rtt on loopback ${rttMs}`);
    // Loss is the sender's cumulative ratio: it moves slowly, so the last plotted value is close to what the sender says now.
    const lossBefore = last(loss.data[1]!, 1)[0]!;
    const lossAfter = last(loss.data[2]!, 1)[0]!;
    assert.ok(lossBefore >= 0 && lossBefore < 0.1 && lossAfter >= 0 && lossAfter < 0.1, `loss ${lossBefore} -> ${lossAfter} on loopback`);
    assert.ok(Math.abs(lossBefore - sender.status().lossBeforeRepair) < 0.01, `plotted loss ${lossBefore}, the sender's ${sender.status().lossBeforeRepair}`);
    const sending = last(rate.data[1]!, 4);
    const target = last(rate.data[2]!, 4);
    assert.ok(target.every((t) => t > 0), `target ${target}`);
    const txIn = last((await plot(page, 'live/tx', 'bitrate'))!.data[1]!, 4);
    assert.ok(Math.abs(mean(sending) - mean(txIn)) < 0.4 * mean(txIn), `the sender says it sends ${mean(sending)} kb/s, the server counts ${mean(txIn)} kb/s in`);
    const rttServer = serverValues(snap, tx, tx.transport!.series['rttMs']!, rtt.data[0] as number[]);
    for (const [t, v] of rttServer) assert.equal(rtt.data[1]![(rtt.data[0] as number[]).indexOf(t)], v, `rtt at ${t}`);
    const tables = await page.evaluate(() => (window as unknown as { tributaryDashboard: { tables(p: string): { links: string[][]; paths: string[][] } } }).tributaryDashboard.tables('live/tx'));
    assert.equal(tables.links.length, 1);
    assert.deepEqual(tables.links[0]!.slice(0, 3), ['udp0', 'active', '100.0%']);
    assert.equal(tables.paths.length, 1);
    assert.equal(tables.paths[0]![1], 'active');
    assert.ok(Number(tables.paths[0]![2]) > 50, `receive kb/s at the server ${tables.paths[0]![2]}`);

    // The RTMP stream has no transport plots; the canvases drew (uPlot's draw hook ran for each).
    assert.equal(await plot(page, 'live/cam', 'rtt'), undefined);
    assert.equal(await page.locator('section[data-path="live/cam"] canvas').count(), 4);
    assert.equal(await page.locator('section[data-path="live/tx"] canvas').count(), 8);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('/dashboard and /api/stats are behind the API rule: a token when one is set', async () => {
  const s = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, api: { token: 'dash-token-0123456789' }, transport: { keyFile: join(dir, 'server2.key') } }), { logger: createLogger('silent') });
  const { httpPort } = await s.start();
  try {
    const b = `http://127.0.0.1:${httpPort}`;
    assert.equal((await httpGet(`${b}/dashboard`)).status, 401);
    assert.equal((await httpGet(`${b}/api/stats`)).status, 401);
    const redirect = await httpGet(`${b}/dashboard?token=dash-token-0123456789`);
    assert.equal(redirect.status, 303);
    assert.equal(redirect.headers['location'], '/dashboard');
    const ok = await fetch(`${b}/api/stats`, { headers: { Authorization: 'Bearer dash-token-0123456789' } });
    assert.equal(ok.status, 200);
    assert.deepEqual(((await ok.json()) as StatsSnapshot).streams, []);
    // The page's scripts carry no stream keys: served to anyone, like the player's.
    assert.equal((await httpGet(`${b}/dashboard/dashboard.js`)).status, 200);
    assert.equal((await httpGet(`${b}/lib/uPlot.iife.min.js`)).status, 200);
    assert.match(String((await httpGet(`${b}/lib/uPlot.min.css`)).headers['content-type']), /text\/css/);
  } finally {
    await s.close();
  }
});
