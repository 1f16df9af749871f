/**
 * `tributary bench p2p --real`: Node peers (P2pPeer, in a few child processes, each behind its
 * own link emulator, peerHost.ts) and Chromium tabs as P2P peers of one stream of a real node
 * (createNode with the `p2p` section, in this process) fed by ffmpeg over RTMP, on loopback;
 * then the simulation of the same audience (twin.ts). Figures over the window after the last
 * join and a settling time, read from the peers' own core players and the edge:
 *   edgeShare         = slice bytes the edge sent / slice bytes the peers played
 *   continuity        = slices played on time / slices played or skipped
 *   delayMs           capture at the edge to play-out of the core's player (a tab's mpegts.js
 *                     buffer comes on top and is not in it); startupMs: every join's
 *   controlOverhead   = (edge WebSocket bytes both ways + data channel messages received, minus
 *                     slice payloads) / slice payloads
 * `--turn` (tabs only): relay candidates only, through a TURN server the caller runs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createNode } from '../../node/createNode.js';
import { parseConfig } from '../../node/config.js';
import { coreConfig } from '../../p2pedge/config.js';
import { createLogger } from '../../server/log.js';
import { summarize } from '../percentiles.js';
import { pushSource } from '../processing/sources.js';
import { startTurn, type BenchTurn } from './coturn.js';
import type { FromHost, PeerSnap, StartMsg } from './peerHost.js';
import { audience, compare, runTwin, type Compared } from './twin.js';

export interface RealOptions {
  /** Chromium tabs. */
  peers: number;
  nodePeers: number;
  /** Stream bitrate, Mbit/s (video at this less 64 kbit/s of AAC). */
  bitrate: number;
  /** Measured seconds, after the last join and `settle`. */
  duration: number;
  settle: number;
  joinGapS: number;
  rttMs: number;
  loss: number;
  seed: number;
  /** Child processes the Node peers are spread over. */
  hosts: number;
  turn?: string;
  moveOffEdge?: boolean;
}

const TAB_UPLOAD_KBPS = 4000;
/** The stream is live this long before the first viewer joins (the twin's first join is at the same time). */
const LEAD_MS = 2000;

interface Snap {
  started: boolean;
  startupMs: number | null;
  played: number;
  onTime: number;
  missed: number;
  playedBytes: number;
  peerBytes: number;
  linkBytes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tabSnap(page: Page): Promise<(Snap & { delays: number[] }) | null> {
  return page.evaluate(() => {
    const p = (window as unknown as { tributaryPlayer: { stats: { p2p?: { peerBytes: number; links: { receivedBytes: number }; play: { startupMs: number | null; played: number; onTime: number; missed: number; playedBytes: number; delays: number[] } } } } }).tributaryPlayer.stats.p2p;
    return p ? { ...p.play, started: p.play.startupMs !== null, peerBytes: p.peerBytes, linkBytes: p.links.receivedBytes, delays: p.play.delays } : null;
  }).catch(() => null);
}

const fromNode = (s: PeerSnap): Snap => ({ ...s, started: s.startupMs !== null });
const ZERO: Snap = { started: false, startupMs: null, played: 0, onTime: 0, missed: 0, playedBytes: 0, peerBytes: 0, linkBytes: 0 };

function channelSetup(ps: PeerSnap[]): { opened: number; meanMs: number; maxMs: number; timeouts: number } {
  const opened = ps.reduce((n, p) => n + p.opened, 0);
  const sum = ps.reduce((n, p) => n + p.openMsSum, 0);
  return { opened, meanMs: Math.round(sum / Math.max(1, opened)), maxMs: Math.round(Math.max(0, ...ps.map((p) => p.openMsMax))), timeouts: ps.reduce((n, p) => n + p.openTimeouts, 0) };
}

function cpuTimes(): { busy: number; all: number } {
  let busy = 0;
  let all = 0;
  for (const c of cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    all += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, all };
}

/** Asks every peer host for a snapshot and waits for all. */
function ask(children: ChildProcess[], t: 'mark' | 'end'): Promise<FromHost[]> {
  return Promise.all(children.map((c) => new Promise<FromHost>((resolve, reject) => {
    const onMsg = (m: FromHost) => {
      if (m.t === 'snap' && m.kind === t) {
        c.off('message', onMsg);
        resolve(m);
      }
    };
    c.on('message', onMsg);
    c.once('exit', (code) => reject(new Error(`a peer host exited (${code})`)));
    c.send({ t });
  })));
}

export async function runRealP2p(o: RealOptions): Promise<Compared & { load: Record<string, unknown> }> {
  const bitrateKbps = Math.round(o.bitrate * 1000);
  const [turnUrl, user, pass] = (o.turn ?? '').split(',');
  const p2p = { bitrateKbps, browserUploadKbps: TAB_UPLOAD_KBPS, moveOffEdge: o.moveOffEdge ?? false, ...(o.turn ? { iceServers: [{ urls: turnUrl!, username: user, credential: pass }], iceTransportPolicy: 'relay' as const } : {}) };
  const config = parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { enabled: false }, logLevel: 'silent', p2p });
  const viewers = audience({ nodePeers: o.nodePeers, tabs: o.peers, bitrateKbps, rttMs: o.rttMs, loss: o.loss, joinGapMs: o.joinGapS * 1000, tabUploadKbps: TAB_UPLOAD_KBPS, seed: o.seed });
  const node = createNode(config, { logger: createLogger('silent') });
  const ports = await node.start();
  let ffmpeg: ChildProcess | undefined;
  let browser: Browser | undefined;
  let turn: BenchTurn | undefined;
  const children: ChildProcess[] = [];
  try {
    ffmpeg = pushSource(ports.rtmpPort, 'live/cam', { size: '426x240', fps: 30, pattern: 'testsrc2', kbps: Math.max(50, bitrateKbps - 64) });
    for (let i = 0; i < 100 && !node.server.registry.find('live', 'cam')?.videoConfig; i++) await sleep(200);
    if (!node.server.registry.find('live', 'cam')?.videoConfig) throw new Error('the ffmpeg push did not go live');
    const url = `http://127.0.0.1:${ports.httpPort}/live/cam`;
    const nodeIdx = viewers.flatMap((v, i) => (v.kind === 'node' ? [i] : []));
    if (nodeIdx.length) {
      turn = await startTurn();
      const self = fileURLToPath(import.meta.url);
      const entry = self.replace(/real\.(ts|js)$/, 'peerHost.$1');
      const execArgv = self.endsWith('.ts') ? ['--import', 'tsx'] : [];
      for (let h = 0; h < Math.min(o.hosts, nodeIdx.length); h++) children.push(fork(entry, [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
    }
    if (o.peers > 0) {
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required',
          '--disable-features=WebRtcHideLocalIpsWithMdns', '--disable-background-timer-throttling', '--disable-renderer-backgrounding'],
      });
    }
    const ctx = await browser?.newContext();
    const epoch = Date.now() + LEAD_MS;
    children.forEach((c, h) => {
      const mine = nodeIdx.filter((_, k) => k % children.length === h);
      const msg: StartMsg = { t: 'start', url, turn: { port: turn!.port, user: turn!.user, pass: turn!.pass }, epoch, peers: mine.map((i) => ({ index: i, ...viewers[i]!, joinAt: viewers[i]!.joinAt })) };
      c.send(msg);
    });
    const pages: Page[] = [];
    for (const v of viewers) {
      if (v.kind !== 'tab') continue;
      await sleep(Math.max(0, epoch + v.joinAt - Date.now()));
      const page = await ctx!.newPage();
      await page.goto(`http://127.0.0.1:${ports.httpPort}/play/live/cam?proto=p2p`);
      pages.push(page);
    }
    const lastJoin = viewers.length ? viewers[viewers.length - 1]!.joinAt : 0;
    await sleep(Math.max(0, epoch + lastJoin + o.settle * 1000 - Date.now()));
    // The window opens.
    const c = node.p2p!.counters;
    const edge0 = { slice: c.sliceBytesOut, ws: c.bytesIn + c.bytesOut, comp: [...node.p2p!.streams.values()][0]?.edge.stats.compensationBytes ?? 0 };
    const cpu0 = cpuTimes();
    const self0 = process.cpuUsage();
    const [nodes0, tabs0] = await Promise.all([ask(children, 'mark'), Promise.all(pages.map(tabSnap))]);
    const load0 = loadavg()[0]!;
    await sleep(o.duration * 1000);
    const [nodes1, tabs1] = await Promise.all([ask(children, 'end'), Promise.all(pages.map(tabSnap))]);
    const edge1 = { slice: c.sliceBytesOut, ws: c.bytesIn + c.bytesOut, comp: [...node.p2p!.streams.values()][0]?.edge.stats.compensationBytes ?? 0 };
    const cpu1 = cpuTimes();
    const selfCpu = process.cpuUsage(self0);
    const load1 = loadavg()[0]!;

    // Per viewer: [at the mark, at the end].
    const before = new Map<number, Snap>();
    const after = new Map<number, Snap>();
    for (const m of nodes0) for (const s of m.peers) before.set(s.index, fromNode(s));
    for (const m of nodes1) for (const s of m.peers) after.set(s.index, fromNode(s));
    const delays = nodes1.flatMap((m) => m.delays);
    const tabIdx = viewers.flatMap((v, i) => (v.kind === 'tab' ? [i] : []));
    tabIdx.forEach((vi, k) => {
      const a = tabs0[k] ?? null;
      const b = tabs1[k] ?? null;
      before.set(vi, a ?? ZERO);
      after.set(vi, b ?? ZERO);
      if (b) delays.push(...b.delays.slice(-Math.min(b.delays.length, b.played - (a?.played ?? 0))));
    });
    const sum = (f: (s: Snap) => number) => [...after.entries()].reduce((n, [i, s]) => n + f(s) - f(before.get(i) ?? ZERO), 0);
    const played = sum((s) => s.playedBytes);
    const peerBytes = sum((s) => s.peerBytes);
    const linkBytes = sum((s) => s.linkBytes);
    const due = sum((s) => s.played + s.missed);
    const onTime = sum((s) => s.onTime);
    const edgeSlice = edge1.slice - edge0.slice;
    const media = edgeSlice + peerBytes;
    const d = summarize(delays);
    const s = summarize([...after.values()].flatMap((x) => (x.startupMs === null ? [] : [x.startupMs])));
    const r4 = (x: number) => Math.round(x * 10000) / 10000;
    const playing = { node: nodeIdx.filter((i) => after.get(i)?.started).length, tab: tabIdx.filter((i) => after.get(i)?.started).length };
    const real = {
      mode: 'real' as const,
      scenario: 'steady' as const,
      peers: viewers.length,
      nodePeers: nodeIdx.length,
      tabs: tabIdx.length,
      playing,
      edgeShare: r4(edgeSlice / Math.max(1, played)),
      continuity: r4(onTime / Math.max(1, due)),
      delayMs: { p50: d.p50, p99: d.p99, max: d.max },
      startupMs: { p50: s.p50, p95: s.p95 },
      controlOverhead: r4((edge1.ws - edge0.ws + linkBytes - media) / Math.max(1, media)),
      compensationShare: r4((edge1.comp - edge0.comp) / Math.max(1, played)),
      p2pShareReceived: r4(peerBytes / Math.max(1, media)),
      relay: o.turn !== undefined,
      moveOffEdge: o.moveOffEdge ?? false,
      /** Why Node peers stopped before the end (a P2pPeer that played nothing in 10 s gives up). */
      nodeEnded: nodes1.flatMap((m) => m.peers).reduce<Record<string, number>>((acc, p) => (p.ended ? { ...acc, [p.ended]: (acc[p.ended] ?? 0) + 1 } : acc), {}),
      nodeChannels: nodes1.flatMap((m) => m.peers).reduce((n, p) => n + p.channels, 0),
      /** Node peers' data channels over the whole run: create-to-open time (mean, max) and those that never opened in 8 s. */
      nodeChannelSetup: channelSetup(nodes1.flatMap((m) => m.peers)),
      /** The edge's signalling and limits over the whole run (a dropped signal is a channel that cannot open). */
      edgeCounters: { joins: c.joins, signalsRelayed: c.signalsRelayed, signalsDropped: c.signalsDropped, rateDropped: c.rateDropped, closed: c.closed, garbage: c.garbage },
      emulator: nodeIdx.length ? { rttMs: o.rttMs, loss: o.loss, upDropped: nodes1.reduce((n, m) => n + m.peers.reduce((k, p) => k + p.upDropped, 0), 0) } : null,
    };
    const load = {
      bitrateKbps,
      machineCpuBusy: r4((cpu1.busy - cpu0.busy) / Math.max(1, cpu1.all - cpu0.all)),
      cores: cpus().length,
      benchProcessCpu: r4((selfCpu.user + selfCpu.system) / 1000 / (o.duration * 1000)),
      peerHostsCpu: nodes1.map((m) => r4(m.cpuMs / (o.duration * 1000))),
      loadavg1: [load0, load1].map((x) => Math.round(x * 100) / 100),
    };
    // The twin runs after the real swarm is gone, at a lower priority (a virtual-time run).
    await teardown();
    setPriority(10);
    const twin = (setupMs: number) => runTwin(viewers, coreConfig(config.p2p!), LEAD_MS, LEAD_MS / 1000 + lastJoin / 1000 + o.settle, o.duration, o.seed, setupMs);
    const out: Compared & { load: Record<string, unknown> } = { ...compare(real, twin(0)), load };
    const setupMs = real.nodeChannelSetup.meanMs;
    if (setupMs > 0) out.simSetup = { ...twin(setupMs), setupMs };
    return out;
  } finally {
    await teardown();
  }

  async function teardown(): Promise<void> {
    for (const ch of children.splice(0)) if (ch.exitCode === null) ch.kill('SIGTERM');
    await browser?.close().catch(() => undefined);
    browser = undefined;
    ffmpeg?.kill('SIGKILL');
    ffmpeg = undefined;
    await turn?.stop();
    turn = undefined;
    await node.close().catch(() => undefined);
  }
}
