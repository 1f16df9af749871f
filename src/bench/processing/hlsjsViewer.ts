import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
/** A wait longer than this for the picture to move on is a stall (the figure). */
const STALL_MS = 500;
const SAMPLE_MS = 100;

export interface HlsjsSwitch {
  /** The cut to the first sample showing a rendition the cut link carries, ms (-1: never). */
  switchDownMs: number;
  /** Times the picture stood still for more than 500 ms after the cut. */
  stallsOnSwitch: number;
  /** Video heights seen before and after the cut (what hls.js chose). */
  heightsBefore: number[];
  heightsAfter: number[];
}

/**
 * The player page over LL-HLS (hls.js, ABR on the multivariant playlist) in Debian's Chromium,
 * its network held at `fastKbps` by the DevTools protocol's throttling until hls.js plays the
 * top rendition (or `beforeS` has passed), then cut to `cutKbps`. Sampled every 100 ms from the
 * page: the video's height (which rendition plays) and its currentTime (whether it moves).
 */
export async function hlsjsSwitch(url: string, o: { fastKbps: number; cutKbps: number; beforeS: number; afterS: number; topHeight: number; carried: Set<number> }, log: (l: string) => void): Promise<HlsjsSwitch> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is required for the hls.js player (apt-get install -y chromium)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'] });
  try {
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const throttle = (kbps: number) => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: (kbps * 1000) / 8, uploadThroughput: (kbps * 1000) / 8 });
    await throttle(o.fastKbps);
    await page.goto(url);
    const sample = () => page.evaluate(() => {
      const v = document.querySelector('video');
      return { h: v?.videoHeight ?? 0, t: v?.currentTime ?? 0 };
    });
    const heightsBefore = new Set<number>();
    const until = Date.now() + Math.max(o.beforeS, 1) * 1000 + 20_000;
    let started = Date.now();
    for (;;) {
      const s = await sample();
      if (s.h) heightsBefore.add(s.h);
      if (s.h === o.topHeight && Date.now() - started >= o.beforeS * 1000) break;
      if (s.h !== o.topHeight) started = Date.now();
      if (Date.now() > until) {
        log(`hls.js never settled on the top rendition (${o.topHeight} px) before the cut; heights seen ${[...heightsBefore]}`);
        break;
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    const cutAt = Date.now();
    await throttle(o.cutKbps);
    log(`hls.js: cut the browser's network to ${o.cutKbps} kbit/s`);
    const heightsAfter = new Set<number>();
    let switchDownMs = -1;
    let stalls = 0;
    let lastT = -1;
    let movedAt = Date.now();
    let stalled = false;
    while (Date.now() - cutAt < o.afterS * 1000) {
      const s = await sample();
      const now = Date.now();
      if (s.h) heightsAfter.add(s.h);
      if (switchDownMs < 0 && o.carried.has(s.h)) switchDownMs = now - cutAt;
      if (s.t !== lastT) {
        lastT = s.t;
        movedAt = now;
        stalled = false;
      } else if (!stalled && now - movedAt > STALL_MS) {
        stalled = true;
        stalls++;
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    return { switchDownMs, stallsOnSwitch: stalls, heightsBefore: [...heightsBefore], heightsAfter: [...heightsAfter] };
  } finally {
    await browser.close();
  }
}
