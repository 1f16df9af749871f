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
    // Where the time goes: hls.js's own events, stamped in page time (Date.now, same clock as here).
    await page.waitForFunction('window.tributaryPlayer && window.tributaryPlayer.hls !== undefined', undefined, { timeout: 20_000 });
    // A string, not a function: tsx's name helpers do not exist in the page.
    await page.evaluate(`(() => {
      const hls = window.tributaryPlayer.hls;
      const E = window.Hls.Events;
      window.benchEvents = [];
      const push = (s) => window.benchEvents.length < 3000 && window.benchEvents.push(Date.now() + ' ' + s);
      const v = document.querySelector('video');
      const ahead = () => (v.buffered.length ? (v.buffered.end(v.buffered.length - 1) - v.currentTime).toFixed(2) : '-');
      const bw = () => Math.round(hls.bandwidthEstimate / 1000) + 'k';
      hls.on(E.LEVEL_SWITCHING, (_e, d) => push('switching L' + d.level + ' bw~' + bw() + ' ahead ' + ahead()));
      hls.on(E.LEVEL_SWITCHED, (_e, d) => push('switched L' + d.level + ' ahead ' + ahead()));
      hls.on(E.FRAG_LOADED, (_e, d) => {
        const u = d.part || d.frag;
        push('loaded L' + d.frag.level + ' sn' + d.frag.sn + (d.part ? '.' + d.part.index : '') + ' ' + u.stats.total + 'B in ' + Math.round(u.stats.loading.end - u.stats.loading.start) + 'ms (first byte ' + Math.round(u.stats.loading.first - u.stats.loading.start) + ', ttfb~' + Math.round(hls.abrController.bwEstimator.getEstimateTTFB()) + ') bw~' + bw() + ' ahead ' + ahead());
      });
      hls.on(E.FRAG_BUFFERED, (_e, d) => {
        const st = d.stats;
        push('buffered sn' + d.frag.sn + (d.part ? '.' + d.part.index : '') + ' loaded ' + st.loaded + ' start->first ' + Math.round(st.loading.first - st.loading.start) + ' ->end ' + Math.round(st.loading.end - st.loading.start) + ' ->parsed ' + Math.round(st.parsing.end - st.loading.start) + ' bw~' + bw());
      });
      hls.on(E.ERROR, (_e, d) => push('error ' + d.details + (d.fatal ? ' fatal' : '') + ' ahead ' + ahead()));
      v.addEventListener('waiting', () => push('waiting ahead ' + ahead()));
      v.addEventListener('playing', () => push('playing'));
    })()`);
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
      if (s.h && !heightsAfter.has(s.h)) log(`hls.js: height ${s.h} on screen at +${now - cutAt}`);
      if (s.h) heightsAfter.add(s.h);
      if (switchDownMs < 0 && o.carried.has(s.h)) switchDownMs = now - cutAt;
      if (s.t !== lastT) {
        lastT = s.t;
        movedAt = now;
        stalled = false;
      } else if (!stalled && now - movedAt > STALL_MS) {
        stalled = true;
        stalls++;
        log(`hls.js: picture still since +${movedAt - cutAt} (height ${s.h})`);
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    const events = await page.evaluate('window.benchEvents') as string[];
    for (const e of events) {
      const [t, ...rest] = e.split(' ');
      const dt = Number(t) - cutAt;
      if (dt >= -3000) log(`hls.js ${dt >= 0 ? '+' : ''}${dt} ${rest.join(' ')}`);
    }
    return { switchDownMs, stallsOnSwitch: stalls, heightsBefore: [...heightsBefore], heightsAfter: [...heightsAfter] };
  } finally {
    await browser.close();
  }
}
