import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { makeToken } from '../../src/server/auth.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import { pushRtmp, stop, waitFor } from '../server/http/tools.js';
import { launchChromium } from './chromium.js';
import { startCoturn, type Coturn } from './coturn.js';

// The WHEP player page with `&trickle=1` (and `&relay=1`): the offer goes out at once and the
// browser's candidates follow by PATCH; the stream (an RTMP push) plays in Chromium.
const secret = 'whep-trickle-secret-012345';
const token = (action: 'publish' | 'play') => makeToken(secret, { action, app: 'live', key: 'tv', expiresAt: Date.now() + 600_000 });
let turn: Coturn;
let server: Server;
let base: string;
let browser: BrowserContext;
let closeBrowser: () => Promise<void>;
let push: ReturnType<typeof pushRtmp>;

before(async () => {
  turn = await startCoturn();
  server = new Server(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    auth: { secret, publish: true, play: true },
    webrtc: { portMin: 23700, portMax: 23799, iceServers: [{ urls: turn.url, username: turn.user, credential: turn.pass }] },
  }), { logger: createLogger('silent') });
  const ports = await server.start();
  base = `http://127.0.0.1:${ports.httpPort}`;
  // Long enough for both tests under CI's load (the first took 78 s there); `after` stops it.
  push = pushRtmp(`rtmp://127.0.0.1:${ports.rtmpPort}/live/tv?token=${token('publish')}`, 600);
  ({ browser, close: closeBrowser } = await launchChromium());
  await waitFor('the RTMP push to go live', () => (server.registry.find('live', 'tv')?.audioConfig ? true : undefined), 15_000);
});

after(async () => {
  await closeBrowser?.();
  if (push) await stop(push);
  await server?.close();
  await turn?.stop();
});

type Trickle = { patches: number; candidates: number; ended: boolean; errors: string[] };
type Stats = { framesDecoded?: number; localCandidateType?: string | null; localCandidate?: string | null; trickle?: Trickle | null; state: string; errors: string[] };
const statsOf = (page: Page) => page.evaluate(() => (window as unknown as { tributaryPlayer: { stats: Stats } }).tributaryPlayer.stats);

/** `a=candidate` lines' "address port" in an SDP or sdpfrag body. */
const candidateAddrs = (body: string) => [...body.matchAll(/a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ/g)].map((m) => `${m[1]}:${m[2]}`);

/** Opens the WHEP player with `query`, waits for decoded frames; returns its stats and what it POSTed and PATCHed. */
async function play(query: string): Promise<{ stats: Stats; offer: string; patched: string[]; panel: string }> {
  const page = await browser.newPage();
  let offer = '';
  const patched: string[] = [];
  page.on('request', (r) => {
    if (!new URL(r.url()).pathname.startsWith('/whep/')) return;
    if (r.method() === 'POST') offer = r.postData() ?? '';
    if (r.method() === 'PATCH') patched.push(r.postData() ?? '');
  });
  try {
    await page.goto(`${base}/play/live/tv?proto=whep&token=${token('play')}&${query}`);
    await page.waitForFunction(() => {
      const s = (window as unknown as { tributaryPlayer: { stats: Stats } }).tributaryPlayer.stats;
      return (s.framesDecoded ?? 0) > 30 && !!s.localCandidate && !!s.trickle?.ended;
    }, undefined, { timeout: 25_000 }).catch(async (err) => {
      throw new Error(`${(err as Error).message}; page ${JSON.stringify(await statsOf(page))}; server trickle ${JSON.stringify(server.webrtc!.trickle)}`);
    });
    await page.waitForTimeout(600); // one panel refresh after the figures
    const panel = await page.evaluate(() => `${document.getElementById('s-ice')!.textContent} | ${document.getElementById('s-trickle')!.textContent}`);
    return { stats: await statsOf(page), offer, patched, panel };
  } finally {
    await page.close();
  }
}

async function whepTrickle204(): Promise<number> {
  const m = /tributary_http_requests_total\{route="whep-trickle",status="204"\} (\d+)/.exec(await (await fetch(`${base}/metrics`)).text());
  return m ? Number(m[1]) : 0;
}

test('a WHEP viewer with trickle=1 plays in Chromium; the pair ICE chose uses a candidate the page sent by PATCH', async () => {
  const before = { ...server.webrtc!.trickle, ok: await whepTrickle204() };
  const r = await play('trickle=1');
  console.log(`whep trickle: ${JSON.stringify(r.stats)}; offer candidates ${candidateAddrs(r.offer).length}; panel "${r.panel}"; server ${JSON.stringify(server.webrtc!.trickle)}`);
  const t = r.stats.trickle!;
  assert.ok(t.patches >= 1 && t.candidates >= 1 && t.ended, JSON.stringify(t));
  assert.deepEqual(t.errors, []);
  assert.ok((r.stats.framesDecoded ?? 0) > 30);
  // The server took them: the PATCHes were answered 204, each candidate counted, one end-of-candidates.
  assert.equal(await whepTrickle204() - before.ok, t.patches);
  assert.equal(server.webrtc!.trickle.endOfCandidates - before.endOfCandidates, 1);
  assert.ok(server.webrtc!.trickle.candidates - before.candidates >= 1);
  assert.ok(candidateAddrs(r.patched.join('')).includes(r.stats.localCandidate!), `selected ${r.stats.localCandidate} not among the PATCHed ${candidateAddrs(r.patched.join(''))}`);
  assert.match(r.panel, /^\w+ \/ \w+ \| \d+ candidates in \d+ PATCHes, ended$/);
});

test('a WHEP viewer with trickle=1&relay=1 plays through coturn: only relay candidates, all by PATCH', async () => {
  const r = await play('trickle=1&relay=1');
  console.log(`whep relay: ${JSON.stringify(r.stats)}; offer candidates ${candidateAddrs(r.offer).length}; patched ${candidateAddrs(r.patched.join(''))}`);
  assert.equal(r.stats.localCandidateType, 'relay');
  assert.deepEqual(r.stats.trickle!.errors, []);
  assert.ok((r.stats.framesDecoded ?? 0) > 30);
  assert.deepEqual(candidateAddrs(r.offer), [], 'the offer went out before any relay candidate');
  const patched = candidateAddrs(r.patched.join(''));
  assert.ok(patched.includes(r.stats.localCandidate!), `selected ${r.stats.localCandidate} not among the PATCHed ${patched}`);
  assert.match(turn.log(), /ALLOCATE processed, success/);
});
