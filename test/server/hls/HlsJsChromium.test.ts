import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { Registry } from '../../../src/server/Registry.js';
import { HlsService } from '../../../src/server/hls/HlsService.js';
import { encodeSource, requireBinary } from '../../media/mp4/source.js';
import { startFeed } from './feed.js';

requireBinary('chromium');
const hlsJs = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));
const PAGE = `<!doctype html><video id="v" muted playsinline></video><script src="/hls.min.js"></script><script>
  const v = document.getElementById('v');
  const hls = new Hls({ lowLatencyMode: true });
  window.errors = [];
  hls.on(Hls.Events.ERROR, (_e, d) => { if (d.fatal) window.errors.push(d.details); });
  hls.loadSource('/live/k/index.m3u8');
  hls.attachMedia(v);
  hls.on(Hls.Events.MANIFEST_PARSED, () => v.play());
  window.hls = hls;
</script>`;

// 1 s GOP, no B-frames, as the README tells OBS users for low delay.
const src = encodeSource({ seconds: 6, gop: 30, bframes: 0 });
const registry = new Registry();
const hls = new HlsService(registry);
const feed = startFeed(registry.app('live').stream('k'), src);
hls.packager('live', 'k');
const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]!;
  const m = /^\/live\/k\/([^/]+)$/.exec(path);
  if (m && hls.handle(req, res, 'live', 'k', m[1]!)) return;
  if (path === '/hls.min.js') return void res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(hlsJs);
  if (path === '/') return void res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
  res.writeHead(404).end();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

after(() => {
  feed.stop();
  hls.close();
  server.close();
});

test('hls.js in Chromium plays the LL-HLS stream within 3 s of live', async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.waitForFunction(() => (document.getElementById('v') as HTMLVideoElement).currentTime > 1, null, { timeout: 15000 });
    const t1 = await page.evaluate(() => (document.getElementById('v') as HTMLVideoElement).currentTime);
    // Let playback settle on its live-edge target for 3 s of media before reading latency.
    await page.waitForFunction((t) => (document.getElementById('v') as HTMLVideoElement).currentTime > t + 3, t1, { timeout: 15000 });
    const r = await page.evaluate(() => {
      const w = window as unknown as { hls: { latency: number; targetLatency: number | null; lowLatencyMode: boolean }; errors: string[] };
      const v = document.getElementById('v') as HTMLVideoElement;
      return { latency: w.hls.latency, target: w.hls.targetLatency, time: v.currentTime, errors: w.errors, paused: v.paused, w: v.videoWidth };
    });
    console.log(`hls.js latency ${r.latency.toFixed(2)} s (target ${r.target?.toFixed(2)} s), currentTime ${r.time.toFixed(2)} s, width ${r.w}`);
    assert.deepEqual(r.errors, []);
    assert.equal(r.paused, false);
    assert.equal(r.w, 640);
    assert.ok(r.time > t1 + 2, `currentTime advanced from ${t1} to ${r.time}`);
    assert.ok(r.latency > 0 && r.latency < 3, `latency ${r.latency}`);
  } finally {
    await browser.close();
  }
});
