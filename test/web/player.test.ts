import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { makeToken } from '../../src/server/auth.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import type { ChildProcess } from 'node:child_process';
import { pushRtmp, stop, waitFor } from '../server/http/tools.js';

const CHROMIUM = '/usr/bin/chromium';
const secret = 'player-test-secret-0123';
const playToken = () => makeToken(secret, { action: 'play', app: 'live', key: 'cam', expiresAt: Date.now() + 600_000 });
let server: Server;
let base: string;
let push: ChildProcess;
let browser: BrowserContext;
let profile: string;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is required for this test (apt-get install -y chromium)`);
  // Play needs a token: the page must carry it on every FLV and HLS request.
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, auth: { secret, play: true } }), { logger: createLogger('silent') });
  const ports = await server.start();
  base = `http://127.0.0.1:${ports.httpPort}`;
  // The real path: ffmpeg pushes RTMP, the browser plays what the server makes of it.
  push = pushRtmp(`rtmp://127.0.0.1:${ports.rtmpPort}/live/cam`, 600);
  await waitFor('the RTMP push to go live', () => (server.registry.find('live', 'cam')?.videoConfig ? true : undefined), 15_000);
  profile = mkdtempSync(join(tmpdir(), 'trib-chromium-'));
  // A fresh profile per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (push) await stop(push);
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Mean brightness of the <video> frame drawn on a canvas in the page (0-255). */
function frameBrightness(page: Page): Promise<number> {
  return page.evaluate(() => {
    const v = document.querySelector('video')!;
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 48;
    const g = c.getContext('2d')!;
    g.drawImage(v, 0, 0, c.width, c.height);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i]! + d[i + 1]! + d[i + 2]!;
    return sum / (d.length / 4) / 3;
  });
}

/**
 * `maxLatency` bounds the latency the page reports: FLV is near live at once; hls.js converges
 * on its LL-HLS target over a few seconds, and the issue asks for 2.0 s.
 */
async function plays(proto: string, maxLatency: number): Promise<void> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${base}/play/live/cam?proto=${proto}&token=${playToken()}`);
    await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, { timeout: 15_000 });
    const t0 = await page.evaluate(() => document.querySelector('video')!.currentTime);
    await page.waitForFunction((t) => document.querySelector('video')!.currentTime > t + 1, t0, { timeout: 10_000 });
    const brightness = await frameBrightness(page);
    assert.ok(brightness > 20, `frame brightness ${brightness}`);
    // hls.js converges on its live-edge target over a few seconds; FLV is there at once.
    await page.waitForFunction((max) => {
      const l = (window as unknown as { tributaryPlayer: { stats: { latency: number | null } } }).tributaryPlayer.stats.latency;
      return l !== null && l < max;
    }, maxLatency, { timeout: 10_000 }).catch(() => undefined);
    const stats = await page.evaluate(() => (window as unknown as { tributaryPlayer: { stats: Record<string, unknown> } }).tributaryPlayer.stats);
    console.log(`${proto}: brightness ${brightness.toFixed(0)}, stats ${JSON.stringify(stats)}`);
    assert.equal(stats['width'], 320);
    assert.equal(stats['height'], 240);
    assert.ok(typeof stats['latency'] === 'number' && stats['latency'] < maxLatency, `latency ${stats['latency']}`);
    assert.deepEqual(errors, []);
    assert.ok(typeof stats['bitrateKbps'] === 'number' && stats['bitrateKbps'] > 50 && stats['bitrateKbps'] < 10_000, `bitrate ${stats['bitrateKbps']}`);
  } finally {
    await page.close();
  }
}

test('the player page plays WebSocket-FLV: time advances, the frame is not black, stats are shown', () => plays('ws-flv', 2.5));

test('the player page plays HTTP-FLV', () => plays('http-flv', 2.5));

test('the player page plays LL-HLS through hls.js and reports its latency', () => plays('ll-hls', 2));

test('the stream list on / shows the live stream with its codec and resolution', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${base}/`);
    await page.waitForSelector('#streams a');
    const text = await page.textContent('#streams');
    assert.match(text!, /live\/cam/);
    assert.match(text!, /h264 320x240/);
    assert.equal(await page.getAttribute('#streams a', 'href'), '/play/live/cam');
  } finally {
    await page.close();
  }
});
