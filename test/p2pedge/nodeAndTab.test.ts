import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { P2pPeer } from '../../src/client/p2p/P2pPeer.js';
import { waitFor } from '../server/http/tools.js';
import { startSwarm, type Swarm } from './swarm.js';
import { until } from './tabs.js';

// A Chromium tab and a Node peer (werift) in one swarm: slices cross between the two stacks.

let swarm: Swarm;

before(async () => {
  swarm = await startSwarm({ enabled: true }, 90);
});

after(async () => {
  await swarm?.close();
});

test('a tab and a Node peer exchange slices over a data channel', { timeout: 120_000 }, async () => {
  const page = await swarm.browser.newPage();
  await page.goto(`http://127.0.0.1:${swarm.served.httpPort}/play/live/cam?proto=p2p`);
  await until('the tab plays over P2P', swarm.served, page, (v) => v.frames > 10 && v.p2p?.started === true, 40_000);
  let bytes = 0;
  const peer = new P2pPeer({ url: `http://127.0.0.1:${swarm.served.httpPort}/live/cam`, write: (b) => void (bytes += b.length) });
  try {
    await waitFor('slices cross between the tab and the Node peer', async () => {
      const tab = await until('the tab', swarm.served, page, () => true, 1000);
      // Any peer byte is a slice that crossed and passed the edge's hash. How many depends on the
      // core's choices and the machine's load (11.5 KB in 40 s seen beside another Chromium test).
      return peer.stats.peerBytes + (tab.p2p?.peerBytes ?? 0) > 0 && peer.stats.played > 30 ? tab : undefined;
    }, 40_000).catch((e: Error) => {
      throw new Error(`${e.message}\nnode: ${JSON.stringify(peer.stats)}`);
    });
    const tab = await until('the tab', swarm.served, page, () => true, 1000);
    console.log(`node peer: ${JSON.stringify({ ...peer.stats, links: undefined })}, wrote ${bytes} bytes; tab: ${JSON.stringify(tab.p2p)}`);
    assert.ok(peer.stats.started && peer.stats.played > 30, 'the Node peer plays');
    assert.equal(peer.stats.wireErrors + peer.stats.links.garbage, 0);
  } finally {
    peer.stop('test over');
    await page.close();
  }
});
