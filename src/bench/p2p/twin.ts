/**
 * The audience of `bench p2p --real` and its simulated twin: the same viewers (Node peers with
 * upload capacities drawn from the distribution, tabs with what browsers claim), the
 * same join times, the emulator's paths as the simulation's pair delays and losses, and the
 * same core rules (coreConfig of the node's p2p section). Then both results side by side.
 */
import { Prng } from '../../emulator/Prng.js';
import type { P2pConfig } from '../../p2p/config.js';
import { formatColumns } from '../table.js';
import { drawHost, type Host } from './Network.js';
import { runP2p, type P2pResult } from './run.js';
import type { SimNet } from './Simulator.js';

export interface Viewer {
  kind: 'node' | 'tab';
  uploadKbps: number;
  /** The emulator's one-way delay per direction of its access link, ms (tabs: none, direct on loopback). */
  oneWayMs: number;
  loss: number;
  /** Join time after the first viewer may join, ms. */
  joinAt: number;
}

export interface AudienceOptions {
  nodePeers: number;
  tabs: number;
  bitrateKbps: number;
  /** Round trip between two Node peers, ms (each crosses its own and the other's access link). */
  rttMs: number;
  /** Loss per datagram on each access link, each direction, 0..1. */
  loss: number;
  joinGapMs: number;
  /** What a tab tells the edge it can upload (p2p.browserUploadKbps). */
  tabUploadKbps: number;
  seed: number;
}

/** Node peers and tabs in join order, a tab every nodePeers/tabs joins so both kinds meet early and late. */
export function audience(o: AudienceOptions): Viewer[] {
  const rng = new Prng(o.seed);
  const n = o.nodePeers + o.tabs;
  const out: Viewer[] = [];
  let tabs = 0;
  for (let i = 0; i < n; i++) {
    const tabDue = o.tabs > 0 && tabs < o.tabs && (o.nodePeers === 0 || Math.floor(((i + 1) * o.tabs) / n) > tabs);
    const joinAt = i * o.joinGapMs;
    if (tabDue) {
      tabs++;
      out.push({ kind: 'tab', uploadKbps: o.tabUploadKbps, oneWayMs: 0, loss: 0, joinAt });
    } else {
      out.push({ kind: 'node', uploadKbps: drawHost(rng, o.bitrateKbps).uploadKbps, oneWayMs: o.rttMs / 4, loss: o.loss, joinAt });
    }
  }
  return out;
}

/** Loopback TCP (the edge's WebSocket) and a tab's direct UDP: no emulated delay, about a millisecond. */
const LOOPBACK_RTT_MS = 1;

/** The simulation's network for these viewers, the first joining `firstJoinMs` after the stream starts. */
export function twinNet(viewers: Viewer[], firstJoinMs: number, setupMs = 0): SimNet {
  const access = new Map<Host, Viewer>();
  const hosts = viewers.map((v) => {
    const h: Host = { region: 0, isp: 0, uploadKbps: v.uploadKbps, reachable: true, freeAt: 0 };
    access.set(h, v);
    return h;
  });
  const of = (h: Host): Viewer => {
    const v = access.get(h);
    if (v) return v;
    throw new Error('unknown host');
  };
  const rtt = (a: Host, b: Host) => Math.max(LOOPBACK_RTT_MS, 2 * of(a).oneWayMs + 2 * of(b).oneWayMs);
  return {
    hosts,
    joinsMs: viewers.map((v) => firstJoinMs + v.joinAt),
    rttMs: rtt,
    edgeRttMs: () => LOOPBACK_RTT_MS,
    lossRate: (a, b) => 1 - (1 - of(a).loss) * (1 - of(b).loss),
    edgeLoss: 0,
    setupMs,
  };
}

export interface Compared {
  real: P2pResult & Record<string, unknown>;
  sim: P2pResult;
  /** The same simulation with the real run's mean channel setup time (a diagnostic, not the figure). */
  simSetup?: P2pResult & { setupMs: number };
  ratio: Record<string, number>;
  within10: Record<string, boolean>;
}

const r4 = (x: number): number => Math.round(x * 10000) / 10000;

export function runTwin(viewers: Viewer[], config: P2pConfig, firstJoinMs: number, warmupS: number, durationS: number, seed: number, setupMs = 0): P2pResult {
  const net = twinNet(viewers, firstJoinMs, setupMs);
  return runP2p({ peers: viewers.length, bitrate: config.bitrateKbps / 1000, scenario: 'steady', duration: warmupS + durationS, warmup: warmupS, seed, meanStay: 0, config, net }).result;
}

export function compare(real: P2pResult & Record<string, unknown>, sim: P2pResult): Compared {
  const pairs: Record<string, [number, number]> = {
    edgeShare: [real.edgeShare, sim.edgeShare],
    continuity: [real.continuity, sim.continuity],
    delayP50: [real.delayMs.p50, sim.delayMs.p50],
    delayMax: [real.delayMs.max, sim.delayMs.max],
    startupP95: [real.startupMs.p95, sim.startupMs.p95],
    controlOverhead: [real.controlOverhead, sim.controlOverhead],
  };
  const ratio: Record<string, number> = {};
  const within10: Record<string, boolean> = {};
  for (const [k, [a, b]] of Object.entries(pairs)) {
    ratio[k] = b === 0 ? (a === 0 ? 1 : Infinity) : r4(a / b);
    within10[k] = Math.abs(ratio[k]! - 1) <= 0.1;
  }
  return { real, sim, ratio, within10 };
}

export function formatCompared(c: Compared): string {
  const row = (name: string, get: (r: P2pResult) => number, key: string): [string, (x: string) => string] => [
    name,
    (x) => (x === 'ratio' ? `${c.ratio[key]}${c.within10[key] ? '' : ' (off by >10%)'}` : String(get(pick(x)))),
  ];
  const cols = c.simSetup ? (['real', 'sim', 'ratio', 'setup'] as const) : (['real', 'sim', 'ratio'] as const);
  const names = ['real', 'sim', 'real / sim', ...(c.simSetup ? [`sim, ${c.simSetup.setupMs} ms setup`] : [])];
  const pick = (x: string): P2pResult => (x === 'real' ? c.real : x === 'setup' ? c.simSetup! : c.sim);
  return formatColumns(names, [...cols] as string[], [
    row('edgeShare', (r) => r.edgeShare, 'edgeShare'),
    row('continuity', (r) => r.continuity, 'continuity'),
    row('delay p50, ms', (r) => r.delayMs.p50, 'delayP50'),
    row('delay max, ms', (r) => r.delayMs.max, 'delayMax'),
    row('startup p95, ms', (r) => r.startupMs.p95, 'startupP95'),
    row('controlOverhead', (r) => r.controlOverhead, 'controlOverhead'),
    ['delay p99, ms', (x) => (x === 'ratio' ? '' : String(pick(x).delayMs.p99))],
    ['compensationShare', (x) => (x === 'ratio' ? '' : String(pick(x).compensationShare))],
  ]);
}
