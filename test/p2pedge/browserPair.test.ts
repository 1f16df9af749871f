import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSwarm, type Swarm } from './swarm.js';
import { twoTabs } from './tabs.js';

let swarm: Swarm;

before(async () => {
  swarm = await startSwarm({ enabled: true }, 60);
});

after(async () => {
  await swarm?.close();
});

test('two tabs on one serve process: the second plays slices the first sent it over a data channel', async () => {
  const { first, second } = await twoTabs(swarm.served, swarm.browser);
  const metrics = await (await fetch(`http://127.0.0.1:${swarm.served.httpPort}/metrics`)).text();
  const signals = Number(/^tributary_p2p_signals_total (\d+)/m.exec(metrics)?.[1]);
  assert.ok(signals >= 2, `signals relayed: ${signals}`);
  console.log(`second tab: ${JSON.stringify(second)}; first tab: ${JSON.stringify(first)}`);
});

test('a browser without WebRTC asked for P2P plays WS-FLV from the edge instead', async () => {
  const page = await swarm.browser.newPage();
  await page.addInitScript(() => {
    delete (window as unknown as { RTCPeerConnection?: unknown }).RTCPeerConnection;
  });
  await page.goto(`http://127.0.0.1:${swarm.served.httpPort}/play/live/cam?proto=p2p`);
  await page.waitForFunction(() => document.querySelector('video')!.currentTime > 1, undefined, { timeout: 20_000 });
  const s = await page.evaluate(() => (window as unknown as { tributaryPlayer: { stats: { protocol: string; p2pFallback?: string } } }).tributaryPlayer.stats);
  assert.equal(s.p2pFallback, 'no WebRTC');
  assert.equal(s.protocol, 'ws-flv (p2p: no WebRTC)');
  await page.close();
});
