import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { BrowserContext } from 'playwright-core';
import { P2pPeer } from '../../src/client/p2p/P2pPeer.js';
import { launchChromium } from '../webrtc/chromium.js';
import { pushRtmp, stop, waitFor } from '../server/http/tools.js';
import { serve, type Served } from './serveProcess.js';
import { until } from './tabs.js';

// A Chromium tab and a Node peer (werift) in one swarm: slices cross between the two stacks.

let served: Served;
let push: ChildProcess;
let browser: BrowserContext;
let closeBrowser: () => Promise<void>;

before(async () => {
  served = await serve({ p2p: { enabled: true } });
  push = pushRtmp(`rtmp://127.0.0.1:${served.rtmpPort}/live/cam`, 90);
  ({ browser, close: closeBrowser } = await launchChromium());
});

after(async () => {
  await closeBrowser?.();
  if (push) await stop(push);
  await served?.close();
});

test('a tab and a Node peer exchange slices over a data channel', { timeout: 120_000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${served.httpPort}/play/live/cam?proto=p2p`);
  await until('the tab plays over P2P', served, page, (v) => v.frames > 10 && v.p2p?.started === true, 40_000);
  let bytes = 0;
  const peer = new P2pPeer({ url: `http://127.0.0.1:${served.httpPort}/live/cam`, write: (b) => void (bytes += b.length) });
  try {
    await waitFor('slices cross between the tab and the Node peer', async () => {
      const tab = await until('the tab', served, page, () => true, 1000);
      return peer.stats.peerBytes + (tab.p2p?.peerBytes ?? 0) > 20_000 && peer.stats.played > 30 ? tab : undefined;
    }, 40_000).catch((e: Error) => {
      throw new Error(`${e.message}\nnode: ${JSON.stringify(peer.stats)}`);
    });
    const tab = await until('the tab', served, page, () => true, 1000);
    console.log(`node peer: ${JSON.stringify({ ...peer.stats, links: undefined })}, wrote ${bytes} bytes; tab: ${JSON.stringify(tab.p2p)}`);
    assert.ok(peer.stats.started && peer.stats.played > 30, 'the Node peer plays');
    assert.equal(peer.stats.wireErrors + peer.stats.links.garbage, 0);
  } finally {
    peer.stop('test over');
    await page.close();
  }
});
