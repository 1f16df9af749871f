import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { P2pPeer } from '../../src/client/p2p/P2pPeer.js';
import type { UdpLinkProxy } from '../../src/emulator/UdpLinkProxy.js';
import { startTurn, type BenchTurn } from '../../src/bench/p2p/coturn.js';
import { emulatedAccess } from '../../src/bench/p2p/hostedPeer.js';
import { waitFor } from '../server/http/tools.js';
import { startSwarm, type Swarm } from './swarm.js';
import { until, view } from './tabs.js';

// The pieces of `bench p2p --real --node-peers`, small: 3 Node peers, each behind its own
// emulated access link (relay-only ICE through coturn at a UdpLinkProxy with a rate bottleneck)
// and 1 Chromium tab on one real serve process. Not a timed figure: slices must cross between
// Node peers and between Node peers and the tab, and the Node peers' bytes must have gone
// through their emulators.

let swarm: Swarm;
let turn: BenchTurn;

before(async () => {
  swarm = await startSwarm({ enabled: true, bitrateKbps: 1000 }, 120);
  turn = await startTurn(400);
});

after(async () => {
  await turn?.stop();
  await swarm?.close();
});

test('Node peers behind link emulators exchange slices with each other and with a tab', { timeout: 150_000 }, async () => {
  const url = `http://127.0.0.1:${swarm.served.httpPort}/live/cam`;
  await new Promise((r) => setTimeout(r, 3000));
  const peers: Array<{ p: P2pPeer; proxy: UdpLinkProxy }> = [];
  const page = await swarm.browser.newPage();
  try {
    // Uploads of 2-3x the stream: each is worth a super node to the tracker.
    for (const [i, kbps] of [3000, 2500, 2000].entries()) {
      const { proxy, join } = await emulatedAccess({ index: i, uploadKbps: kbps, oneWayMs: 10, loss: 0, joinAt: 0 }, turn);
      peers.push({ p: join(url), proxy });
      await new Promise((r) => setTimeout(r, 1000));
    }
    await page.goto(`http://127.0.0.1:${swarm.served.httpPort}/play/live/cam?proto=p2p`);
    await until('the tab plays over P2P', swarm.served, page, (v) => v.frames > 10 && v.p2p?.started === true, 40_000);
    const tabId = await page.evaluate(() => (window as unknown as { tributaryPlayer: { stats: { p2p: { id: number } } } }).tributaryPlayer.stats.p2p.id);
    const nodeIds = () => new Set(peers.map(({ p }) => p.stats.id));
    const fromNodes = () => peers.reduce((n, { p }) => n + Object.entries(p.stats.peerBytesFrom).reduce((k, [id, b]) => k + (nodeIds().has(Number(id)) ? b : 0), 0), 0);
    const fromTab = () => peers.reduce((n, { p }) => n + (p.stats.peerBytesFrom[tabId] ?? 0), 0);
    const state = async () => JSON.stringify({ tabId, tab: (await view(page)).p2p, nodes: peers.map(({ p, proxy }) => ({ ...p.stats, links: undefined, up: proxy.upLink.stats.deliveredBytes })) });
    await waitFor('slices cross Node to Node, and between the Node peers and the tab', async () => {
      const tab = await view(page);
      return fromNodes() > 0 && (fromTab() > 0 || (tab.p2p?.peerBytes ?? 0) > 0) ? true : undefined;
    }, 60_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await state()}`);
    });
    console.log(await state());
    for (const { p, proxy } of peers) {
      assert.ok(p.stats.played > 30, `Node peer ${p.stats.id} plays`);
      assert.equal(p.stats.wireErrors + p.stats.links.garbage, 0);
      // Relay only through the proxy: everything it sent to peers crosses its emulated upload.
      // What was just sent may still be queued on the way (a keyframe is ~19 KB), so the
      // emulator is given a moment to deliver what had been sent when this looked.
      const sent = p.stats.links.sentBytes;
      await waitFor(`peer ${p.stats.id}: ${sent} bytes sent up the emulator`, () => (proxy.upLink.stats.deliveredBytes >= sent ? true : undefined), 10_000).catch(() => undefined);
      assert.ok(proxy.upLink.stats.deliveredBytes >= sent, `peer ${p.stats.id}: ${proxy.upLink.stats.deliveredBytes} bytes up the emulator, ${sent} sent`);
      const pairs = await p.pairs();
      assert.ok(pairs.every((x) => x.startsWith('relay/')), `pairs ${pairs}`);
    }
  } finally {
    for (const { p, proxy } of peers) {
      p.stop('test over');
      proxy.close();
    }
    await page.close();
  }
});
