import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../webrtc/chromium.js';
import { pushRtmp, stop } from '../server/http/tools.js';
import { serve, type Served } from './serveProcess.js';

let served: Served;
let push: ChildProcess;
let browser: BrowserContext;
let closeBrowser: () => Promise<void>;

before(async () => {
  served = await serve({ p2p: { enabled: true } });
  push = pushRtmp(`rtmp://127.0.0.1:${served.rtmpPort}/live/cam`, 60);
  ({ browser, close: closeBrowser } = await launchChromium());
});

after(async () => {
  await closeBrowser?.();
  if (push) await stop(push);
  await served?.close();
});

interface P2pView { peerBytes: number; edgeBytes: number; channels: number; started: boolean }
const view = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as { tributaryPlayer: { stats: { p2p?: P2pView; framesDecoded?: number; protocol: string; p2pFallback?: string; state: string } } }).tributaryPlayer.stats;
    return { p2p: s.p2p ? { peerBytes: s.p2p.peerBytes, edgeBytes: s.p2p.edgeBytes, channels: s.p2p.channels, started: s.p2p.started } : null, frames: s.framesDecoded ?? 0, protocol: s.protocol, fallback: s.p2pFallback, state: s.state, panel: document.getElementById('s-p2p')!.textContent };
  });

async function until<T>(what: string, page: Page, ok: (v: Awaited<ReturnType<typeof view>>) => boolean, ms: number): Promise<Awaited<ReturnType<typeof view>>> {
  const end = Date.now() + ms;
  let v = await view(page);
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`${what}: ${JSON.stringify(v)}\n${served.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
    v = await view(page);
  }
  return v;
}

test('two tabs on one serve process: the second plays slices the first sent it over a data channel', async () => {
  const errors: string[] = [];
  const url = `http://127.0.0.1:${served.httpPort}/play/live/cam?proto=p2p`;
  const first = await browser.newPage();
  first.on('pageerror', (e) => errors.push(`first: ${e}`));
  await first.goto(url);
  await until('the first tab plays over P2P', first, (v) => v.frames > 10 && v.p2p?.started === true, 20_000);
  const second = await browser.newPage();
  second.on('pageerror', (e) => errors.push(`second: ${e}`));
  await second.goto(url);
  const v = await until('the second tab gets slices from the first', second, (x) => x.frames > 30 && (x.p2p?.peerBytes ?? 0) > 20_000, 30_000);
  assert.equal(v.fallback, undefined, 'no fallback to the edge');
  assert.ok(v.p2p!.channels >= 1);
  assert.match(v.panel!, /% from \d+ peers/);
  // The picture moves on: the video element plays what mpegts.js made of the slices.
  const t0 = await second.evaluate(() => document.querySelector('video')!.currentTime);
  await second.waitForFunction((t) => document.querySelector('video')!.currentTime > t + 1, t0, { timeout: 10_000 });
  const metrics = await (await fetch(`http://127.0.0.1:${served.httpPort}/metrics`)).text();
  const signals = Number(/^tributary_p2p_signals_total (\d+)/m.exec(metrics)?.[1]);
  assert.ok(signals >= 2, `signals relayed: ${signals}`);
  const f = await view(first);
  assert.equal(f.fallback, undefined);
  assert.deepEqual(errors, []);
  console.log(`second tab: ${JSON.stringify(v)}; first tab: ${JSON.stringify(f)}`);
});
