/**
 * `tributary bench p2p` (simulation): runs the swarm and reports the figures.
 *   edgeShare         = bytes the edge sent to peers / bytes peers played
 *   continuity        = slices played on time / slices due (CoolStreaming's continuity index)
 *   delayMs           = capture to play
 *   startupMs         = join to first picture
 *   controlOverhead   = control bytes (every message but slice payloads) / media bytes sent
 *   compensationShare = bytes of compensation the edge sent / bytes peers played
 * All over the measured window (after the warm-up); the flash scenario adds a 5 s timeline.
 */
import { summarize } from '../percentiles.js';
import { formatColumns } from '../table.js';
import { BUCKET_MS } from './Ledger.js';
import { Simulator, type FlashWindow, type SimOptions } from './Simulator.js';

export interface P2pResult {
  mode: 'sim' | 'real';
  scenario: 'steady' | 'flash';
  peers: number;
  edgeShare: number;
  continuity: number;
  delayMs: { p50: number; p99: number; max: number };
  startupMs: { p50: number; p95: number };
  controlOverhead: number;
  compensationShare: number;
}

export interface P2pRun {
  result: P2pResult;
  timeline: FlashWindow[];
  wallMs: number;
  events: number;
  superNodes: number;
  promotions: number;
  demotions: number;
  crowdContinuity: number;
}

const r4 = (x: number): number => Math.round(x * 10000) / 10000;

export function runP2p(o: SimOptions): P2pRun {
  const t0 = performance.now();
  const sim = new Simulator(o);
  const l = sim.run();
  const d = summarize(l.delays);
  const s = summarize(l.startups);
  const result: P2pResult = {
    mode: 'sim',
    scenario: o.scenario,
    peers: o.peers,
    edgeShare: r4(l.edgeMediaBytes / Math.max(1, l.playedBytes)),
    continuity: r4(l.onTime / Math.max(1, l.due)),
    delayMs: { p50: d.p50, p99: d.p99, max: Math.round(l.maxDelay * 10) / 10 },
    startupMs: { p50: s.p50, p95: s.p95 },
    controlOverhead: r4(l.controlBytes / Math.max(1, l.edgeMediaBytes + l.peerMediaBytes)),
    compensationShare: r4(l.compensationBytes / Math.max(1, l.playedBytes)),
  };
  // Only whole buckets inside the run (the last event may open one more).
  const timeline = l.buckets.slice(0, Math.floor((o.duration * 1000) / BUCKET_MS)).map((b, i) => ({ startS: (i * BUCKET_MS) / 1000, edgeShare: r4(b.edgeBytes / Math.max(1, b.playedBytes)), continuity: r4(b.onTime / Math.max(1, b.due)) }));
  // The crowd: from its first join to 10 s after its last (slices due while it settles).
  const crowd = l.buckets.slice(Math.floor((sim.crowdAt * 1000) / BUCKET_MS), Math.floor(((sim.crowdAt + 20) * 1000) / BUCKET_MS));
  const crowdDue = crowd.reduce((a, b) => a + b.due, 0);
  const crowdOnTime = crowd.reduce((a, b) => a + b.onTime, 0);
  let supers = 0;
  for (const p of sim.edge.tracker.peers.values()) if (p.role) supers++;
  return {
    result,
    timeline,
    wallMs: Math.round(performance.now() - t0),
    events: sim.events,
    superNodes: supers,
    promotions: sim.edge.tracker.promotions,
    demotions: sim.edge.tracker.demotions,
    crowdContinuity: r4(crowdOnTime / Math.max(1, crowdDue)),
  };
}

export function formatP2p(run: P2pRun): string {
  const r = run.result;
  const rows: Array<[string, (x: P2pRun) => string]> = [
    ['edgeShare', (x) => String(x.result.edgeShare)],
    ['continuity', (x) => String(x.result.continuity)],
    ['delay p50 / p99 / max, ms', (x) => `${x.result.delayMs.p50} / ${x.result.delayMs.p99} / ${x.result.delayMs.max}`],
    ['startup p50 / p95, ms', (x) => `${x.result.startupMs.p50} / ${x.result.startupMs.p95}`],
    ['controlOverhead', (x) => String(x.result.controlOverhead)],
    ['compensationShare', (x) => String(x.result.compensationShare)],
    ['super nodes at the end (promoted / demoted)', (x) => `${x.superNodes} (${x.promotions} / ${x.demotions})`],
    ['events, wall time', (x) => `${x.events}, ${(x.wallMs / 1000).toFixed(1)} s`],
  ];
  if (r.scenario === 'flash') rows.push(['continuity during the crowd', (x) => String(x.crowdContinuity)]);
  let out = formatColumns([`sim ${r.scenario}, ${r.peers} peers`], [run], rows);
  if (r.scenario === 'flash') {
    out += '\n\n' + formatColumns(['edgeShare', 'continuity'], [0, 1], run.timeline.map((w) => [`${w.startS}-${w.startS + BUCKET_MS / 1000} s`, (c: number) => String(c === 0 ? w.edgeShare : w.continuity)]));
  }
  return out;
}
