import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { BrowserContext } from 'playwright-core';
import { launchChromium } from '../webrtc/chromium.js';
import { pushRtmp, stop } from '../server/http/tools.js';
import { serve, type Served } from './serveProcess.js';
import { twoTabs } from './tabs.js';

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

test('two tabs on one serve process: the second plays slices the first sent it over a data channel', async () => {
  const { first, second } = await twoTabs(served, browser);
  const metrics = await (await fetch(`http://127.0.0.1:${served.httpPort}/metrics`)).text();
  const signals = Number(/^tributary_p2p_signals_total (\d+)/m.exec(metrics)?.[1]);
  assert.ok(signals >= 2, `signals relayed: ${signals}`);
  console.log(`second tab: ${JSON.stringify(second)}; first tab: ${JSON.stringify(first)}`);
});

test('a browser without WebRTC asked for P2P plays WS-FLV from the edge instead', async () => {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    delete (window as unknown as { RTCPeerConnection?: unknown }).RTCPeerConnection;
  });
  await page.goto(`http://127.0.0.1:${served.httpPort}/play/live/cam?proto=p2p`);
  await page.waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, { timeout: 20_000 });
  const s = await page.evaluate(() => (window as unknown as { tributaryPlayer: { stats: { protocol: string; p2pFallback?: string } } }).tributaryPlayer.stats);
  assert.equal(s.p2pFallback, 'no WebRTC');
  assert.equal(s.protocol, 'ws-flv (p2p: no WebRTC)');
  await page.close();
});
