/**
 * `tributary bench p2p --real`: Chromium tabs as P2P peers of one stream of a real node
 * (createNode with the `p2p` section), fed by ffmpeg over RTMP, on loopback; optionally with
 * relay candidates only through a coturn the caller runs (`--turn`). The figures are the
 * simulation's, read from the tabs' players (the same core's PlaySink) and the edge:
 *   edgeShare         = slice bytes the edge sent / slice bytes the tabs played
 *   continuity        = slices played on time / slices played or skipped
 *   delayMs, startupMs  from the tabs' players (capture at the edge to play-out of the core's player;
 *                     mpegts.js's own buffer comes on top and is not in it)
 *   controlOverhead   = (edge WebSocket bytes both ways + data channel bytes, minus slice payloads) / slice payloads
 * Only Chromium tabs: Node peers (`play --p2p`) are not built.
 */
import type { ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createNode } from '../../node/createNode.js';
import { parseConfig } from '../../node/config.js';
import { createLogger } from '../../server/log.js';
import { summarize } from '../percentiles.js';
import { pushSource } from '../processing/sources.js';

export interface RealOptions {
  peers: number;
  duration: number;
  /** Seconds between one tab's join and the next. */
  joinGapS: number;
  /** turn:HOST:PORT,USER,PASS: relay candidates only, through that TURN server. */
  turn?: string;
  /** The p2p section's moveOffEdge. */
  moveOffEdge?: boolean;
}

interface TabFigures {
  peerBytes: number;
  linkBytes: number;
  play: { startupMs: number | null; played: number; onTime: number; missed: number; playedBytes: number; delays: number[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function figures(page: Page): Promise<TabFigures | null> {
  return page.evaluate(() => {
    const p = (window as unknown as { tributaryPlayer: { stats: { p2p?: { peerBytes: number; links: { receivedBytes: number }; play: TabFigures['play'] } } } }).tributaryPlayer.stats.p2p;
    return p ? { peerBytes: p.peerBytes, linkBytes: p.links.receivedBytes, play: p.play } : null;
  });
}

export async function runRealP2p(o: RealOptions) {
  const [turnUrl, user, pass] = (o.turn ?? '').split(',');
  const p2p = { moveOffEdge: o.moveOffEdge ?? false, ...(o.turn ? { iceServers: [{ urls: turnUrl!, username: user, credential: pass }], iceTransportPolicy: 'relay' as const } : {}) };
  const node = createNode(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { enabled: false }, logLevel: 'silent', p2p }), { logger: createLogger('silent') });
  const ports = await node.start();
  let ffmpeg: ChildProcess | undefined;
  let browser: Browser | undefined;
  try {
    ffmpeg = pushSource(ports.rtmpPort, 'live/cam', { size: '640x360', fps: 30, pattern: 'testsrc2', kbps: 1000 });
    for (let i = 0; i < 100 && !node.server.registry.find('live', 'cam')?.videoConfig; i++) await sleep(200);
    if (!node.server.registry.find('live', 'cam')?.videoConfig) throw new Error('the ffmpeg push did not go live');
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required',
        '--disable-features=WebRtcHideLocalIpsWithMdns', '--disable-background-timer-throttling', '--disable-renderer-backgrounding'],
    });
    const ctx = await browser.newContext();
    const pages: Page[] = [];
    for (let i = 0; i < o.peers; i++) {
      const page = await ctx.newPage();
      await page.goto(`http://127.0.0.1:${ports.httpPort}/play/live/cam?proto=p2p`);
      pages.push(page);
      await sleep(o.joinGapS * 1000);
    }
    await sleep(o.duration * 1000);
    const tabs = (await Promise.all(pages.map(figures))).filter((t): t is TabFigures => t !== null);
    const edge = [...node.p2p!.streams.values()][0]?.edge.stats;
    const c = node.p2p!.counters;
    const played = tabs.reduce((n, t) => n + t.play.playedBytes, 0);
    const peerBytes = tabs.reduce((n, t) => n + t.peerBytes, 0);
    const linkBytes = tabs.reduce((n, t) => n + t.linkBytes, 0);
    const due = tabs.reduce((n, t) => n + t.play.played + t.play.missed, 0);
    const onTime = tabs.reduce((n, t) => n + t.play.onTime, 0);
    const d = summarize(tabs.flatMap((t) => t.play.delays));
    const s = summarize(tabs.flatMap((t) => (t.play.startupMs === null ? [] : [t.play.startupMs])));
    const media = c.sliceBytesOut + peerBytes;
    const r4 = (x: number) => Math.round(x * 10000) / 10000;
    return {
      mode: 'real' as const,
      scenario: 'steady' as const,
      peers: o.peers,
      playing: tabs.filter((t) => t.play.startupMs !== null).length,
      edgeShare: r4(c.sliceBytesOut / Math.max(1, played)),
      continuity: r4(onTime / Math.max(1, due)),
      delayMs: { p50: d.p50, p99: d.p99, max: d.max },
      startupMs: { p50: s.p50, p95: s.p95 },
      controlOverhead: r4((c.bytesOut + c.bytesIn + linkBytes - media) / Math.max(1, media)),
      compensationShare: r4((edge?.compensationBytes ?? 0) / Math.max(1, played)),
      p2pShareReceived: r4(peerBytes / Math.max(1, media)),
      relay: o.turn !== undefined,
      moveOffEdge: o.moveOffEdge ?? false,
    };
  } finally {
    await browser?.close().catch(() => undefined);
    ffmpeg?.kill('SIGKILL');
    await node.close();
  }
}
