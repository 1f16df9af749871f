/**
 * The player page on a stream with a quality ladder, in Debian's Chromium against a real node
 * (ffmpeg pushes RTMP, the ladder job's ffmpeg makes two renditions): the page offers auto, each
 * rendition and the source; over LL-HLS hls.js gets the multivariant playlist and, when the
 * browser's network is throttled below the top rendition, switches down by itself and plays on;
 * over WS-FLV a fixed choice plays that rendition, and the panel names what is playing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parseConfig } from '../../src/node/config.js';
import { createNode, type MediaNode } from '../../src/node/createNode.js';
import { createLogger } from '../../src/server/log.js';
import { pushPattern, stop, waitFor } from '../processing/helpers.js';

const CHROMIUM = '/usr/bin/chromium';
let node: MediaNode;
let base: string;
let push: ChildProcess;
let browser: BrowserContext;
let profile: string;

interface PlayerStats {
  renditions: string[];
  rendition: string | null;
  height: number;
  renditionSwitches?: number;
  errors: string[];
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is required for this test (apt-get install -y chromium)`);
  node = createNode(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    apps: { live: { ladder: [{ name: 'hi', height: 180, kbps: 700 }, { name: 'lo', height: 90, kbps: 80 }] } },
    processing: { maxJobs: 2 },
  }), { logger: createLogger('silent') });
  const a = await node.server.start();
  base = `http://127.0.0.1:${a.httpPort}`;
  // Noise keeps the top rendition near its bitrate (a test pattern alone compresses to little).
  push = pushPattern(a.rtmpPort, 'live/cam', { size: '320x180', fps: 15, seconds: 120, filter: 'noise=alls=40:allf=t', kbps: 1200 });
  for (const k of ['cam_hi', 'cam_lo']) await waitFor(`live/${k}`, () => (node.server.registry.find('live', k)?.videoConfig ? true : undefined), 25_000);
  profile = mkdtempSync(join(tmpdir(), 'trib-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
});

after(async () => {
  await browser?.close();
  if (push) await stop(push);
  await node?.server.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const statsOf = (page: Page): Promise<PlayerStats> => page.evaluate(() => (window as unknown as { tributaryPlayer: { stats: PlayerStats } }).tributaryPlayer.stats);

async function playing(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, { timeout: 20_000 });
}

test('LL-HLS on a ladder: the page offers each rendition, and hls.js switches down by itself when the network cannot carry the top one', { timeout: 120_000 }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${base}/play/live/cam?proto=ll-hls`);
    await playing(page);
    const links = await page.$$eval('#qualities a', (as) => as.map((a) => a.textContent));
    assert.deepEqual(links, ['auto', 'hi', 'lo', 'source']);
    await page.waitForFunction(() => (window as unknown as { tributaryPlayer: { stats: PlayerStats } }).tributaryPlayer.stats.rendition !== null, undefined, { timeout: 5_000 });
    const first = await statsOf(page);
    assert.deepEqual(first.renditions, ['hi', 'lo']);
    assert.ok(first.rendition === 'hi' || first.rendition === 'lo', `rendition ${first.rendition}`);
    // Let the estimate learn the open network: hls.js climbs to the top rendition.
    await page.waitForFunction(() => (window as unknown as { tributaryPlayer: { stats: PlayerStats } }).tributaryPlayer.stats.rendition === 'hi', undefined, { timeout: 30_000 });
    // ~300 kbit/s: under hi (700 + audio), over lo (80 + audio).
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 300_000 / 8, uploadThroughput: 300_000 / 8 });
    await page.waitForFunction(() => {
      const s = (window as unknown as { tributaryPlayer: { stats: PlayerStats } }).tributaryPlayer.stats;
      return s.rendition === 'lo' && document.querySelector('video')!.videoHeight === 90;
    }, undefined, { timeout: 45_000 });
    const t = await page.evaluate(() => document.querySelector('video')!.currentTime);
    await page.waitForFunction((t0) => document.querySelector('video')!.currentTime > t0 + 2, t, { timeout: 20_000 });
    const s = await statsOf(page);
    // At least the one switch down from hi (the first level hls.js loads is not counted as a switch).
    assert.ok((s.renditionSwitches ?? 0) >= 1, `switches ${s.renditionSwitches}`);
    assert.match(await page.textContent('#s-rendition') ?? '', /^lo \(auto\)$/);
  } finally {
    await page.close();
  }
});

test('WS-FLV on a ladder: a fixed choice plays that rendition, source the stream itself', { timeout: 60_000 }, async () => {
  for (const [quality, height] of [['lo', 90], ['source', 180]] as const) {
    const page = await browser.newPage();
    try {
      await page.goto(`${base}/play/live/cam?proto=ws-flv&quality=${quality}`);
      await playing(page);
      await page.waitForFunction((h) => document.querySelector('video')!.videoHeight === h, height, { timeout: 10_000 });
      await page.waitForFunction((q) => (window as unknown as { tributaryPlayer: { stats: PlayerStats } }).tributaryPlayer.stats.rendition === q, quality, { timeout: 5_000 });
      assert.equal(await page.$eval('#qualities a.on', (a) => a.textContent), quality);
    } finally {
      await page.close();
    }
  }
});
