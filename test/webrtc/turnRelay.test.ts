import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext } from 'playwright-core';
import { makeToken } from '../../src/server/auth.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import { WhipSession } from '../../src/server/webrtc/WhipSession.js';
import { ffprobe, waitFor } from '../server/http/tools.js';
import { launchChromium } from './chromium.js';
import { startCoturn, type Coturn } from './coturn.js';

const secret = 'webrtc-turn-secret-0123456';
const token = (action: 'publish' | 'play') => makeToken(secret, { action, app: 'live', key: 'relayed', expiresAt: Date.now() + 600_000 });
let turn: Coturn;
let server: Server;
let base: string;
let browser: BrowserContext;
let closeBrowser: () => Promise<void>;

before(async () => {
  turn = await startCoturn();
  server = new Server(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    auth: { secret, publish: true, play: true },
    webrtc: { portMin: 23600, portMax: 23699, iceServers: [{ urls: turn.url, username: turn.user, credential: turn.pass }] },
  }), { logger: createLogger('silent') });
  base = `http://127.0.0.1:${(await server.start()).httpPort}`;
  ({ browser, close: closeBrowser } = await launchChromium());
});

after(async () => {
  await closeBrowser?.();
  await server?.close();
  await turn?.stop();
});

type PublisherStats = { state: string; framesSent: number; localCandidateType: string | null; error: string | null; trickle: { patches: number; candidates: number; ended: boolean; errors: string[] } | null };

test('Chromium publishes with WHIP through coturn: relay-only candidates, learnt from Link headers, trickled by PATCH; the media reaches an FLV viewer', async () => {
  const page = await browser.newPage();
  const stats = () => page.evaluate(() => (window as unknown as { tributaryPublisher: { stats: PublisherStats } }).tributaryPublisher.stats);
  try {
    await page.goto(`${base}/web/publish.html?app=live&key=relayed&autostart=1&trickle=1&relay=1&token=${token('publish')}`);
    const stream = await waitFor('the relayed WHIP publisher to go live with video', () => {
      const s = server.registry.find('live', 'relayed');
      return s?.videoConfig && s.framesIn > 60 ? s : undefined;
    }, 25_000).catch(async (err) => {
      throw new Error(`${err.message}; page ${JSON.stringify(await stats())}; trickle ${JSON.stringify(server.webrtc!.trickle)}; coturn ${turn.log().slice(-1500)}`);
    });
    assert.ok(stream.publisher instanceof WhipSession);
    await page.waitForFunction(() => (window as unknown as { tributaryPublisher: { stats: PublisherStats } }).tributaryPublisher.stats.localCandidateType !== null, undefined, { timeout: 5000 });
    const s = await stats();
    console.log(`relayed publisher: ${JSON.stringify(s)}; server trickle ${JSON.stringify(server.webrtc!.trickle)}`);
    // The browser's end of the pair ICE chose is a TURN relay: the media went through coturn.
    assert.equal(s.localCandidateType, 'relay');
    assert.ok(s.trickle && s.trickle.patches >= 1 && s.trickle.candidates >= 1 && s.trickle.ended, JSON.stringify(s.trickle));
    assert.deepEqual(s.trickle.errors, []);
    assert.ok(server.webrtc!.trickle.candidates >= 1);
    assert.equal(server.webrtc!.trickle.endOfCandidates, 1);
    // The offer went out before gathering: the server took every candidate from PATCHes.
    const log = turn.log();
    assert.match(log, /ALLOCATE processed, success/, 'coturn made an allocation');
    assert.match(log, /(CREATE_PERMISSION|CHANNEL_BIND) processed, success/, 'coturn let the relay reach the server');
    const probe = await ffprobe(`${base}/live/relayed.flv?token=${token('play')}`, 2);
    const v = probe.streams.find((x) => x.codec_type === 'video');
    assert.ok(v && Number(v.nb_read_frames) >= 20, `ffprobe decoded ${v?.nb_read_frames} relayed frames`);
  } finally {
    await page.close();
  }
});
