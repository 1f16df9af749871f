/** Two player tabs in P2P mode on one server, and what their stats panels say. */
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import type { Served } from './serveProcess.js';

interface PageStats {
  p2p?: { peerBytes: number; edgeBytes: number; channels: number; started: boolean; links: { pairs: string[] } };
  framesDecoded?: number;
  protocol: string;
  p2pFallback?: string;
}

export const view = (page: Page) =>
  page.evaluate(() => {
    const s = (window as unknown as { tributaryPlayer: { stats: PageStats } }).tributaryPlayer.stats;
    const p = s.p2p;
    return {
      p2p: p ? { peerBytes: p.peerBytes, edgeBytes: p.edgeBytes, channels: p.channels, started: p.started, pairs: p.links.pairs } : null,
      frames: s.framesDecoded ?? 0,
      protocol: s.protocol,
      fallback: s.p2pFallback,
      panel: document.getElementById('s-p2p')!.textContent,
    };
  });
export type View = Awaited<ReturnType<typeof view>>;

export async function until(what: string, served: Served, page: Page, ok: (v: View) => boolean, ms: number): Promise<View> {
  const end = Date.now() + ms;
  let v = await view(page);
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`${what}: ${JSON.stringify(v)}\n${served.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
    v = await view(page);
  }
  return v;
}

/**
 * Opens a first tab, waits for it to play over P2P, then a second, and waits until the second
 * has played frames and taken slices from the first over a data channel. Returns both views.
 */
export async function twoTabs(served: Served, browser: BrowserContext): Promise<{ first: View; second: View; secondPage: Page }> {
  const errors: string[] = [];
  const url = `http://127.0.0.1:${served.httpPort}/play/live/cam?proto=p2p`;
  const firstPage = await browser.newPage();
  firstPage.on('pageerror', (e) => errors.push(`first: ${e}`));
  await firstPage.goto(url);
  await until('the first tab plays over P2P', served, firstPage, (v) => v.frames > 10 && v.p2p?.started === true, 40_000);
  const secondPage = await browser.newPage();
  secondPage.on('pageerror', (e) => errors.push(`second: ${e}`));
  await secondPage.goto(url);
  const second = await until('the second tab gets slices from the first', served, secondPage, (x) => x.frames > 30 && (x.p2p?.peerBytes ?? 0) > 20_000, 30_000);
  assert.equal(second.fallback, undefined, 'no fallback to the edge');
  assert.ok(second.p2p!.channels >= 1);
  assert.match(second.panel!, /% from \d+ peers/);
  // The picture moves on: the video element plays what mpegts.js made of the slices.
  const t0 = await secondPage.evaluate(() => document.querySelector('video')!.currentTime);
  await secondPage.waitForFunction((t) => document.querySelector('video')!.currentTime > t + 1, t0, { timeout: 10_000 });
  const first = await view(firstPage);
  assert.equal(first.fallback, undefined);
  assert.deepEqual(errors, []);
  return { first, second, secondPage };
}
