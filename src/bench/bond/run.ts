import { judge } from '../transport/Judge.js';
import { oracleOver, type OracleResult } from '../transport/Oracle.js';
import { type BenchResult, capacityCell, makeResult } from '../transport/Report.js';
import type { SourceFrame } from '../transport/Source.js';
import { runVirtual, type LinkEvent } from '../transport/VirtualRun.js';
import { runReal } from '../transport/RealRun.js';
import { tributaryPeers } from '../transport/tributaryPeers.js';
import { formatColumns } from '../table.js';
import type { BondMode } from '../../transport/index.js';
import { CC_NAMES } from '../../transport/cc/select.js';
import { type BondBenchOptions, type BondLink, makeBondLinks, outagesOf, parseEvents } from './Options.js';

const FRAME_MS = 1000 / 30;

/** One run's result: `bench transport`'s fields plus the bonding ones the issue names. */
export interface BondResult extends BenchResult {
  mode: BondMode;
  links: string[];
  /** Longest run of consecutive video frames the oracle delivered on time and this run did not, ms of media time. */
  maxExcessStallMs: number;
  /** Fraction of the client's wire bytes that went on each link. */
  share: number[];
  /** Extra copies (redundant/auto) as a fraction of the media bytes. */
  duplicateOverhead: number;
  pathsDowned: number;
  /** 'without link I': the same bond with the flapping link left out, for comparison. */
  variant?: string;
}

/** The flapping link: RTT 100 ms and 1200 ms in turns of 2 s (one-way 50 / 600 ms). */
const FLAP = { lowMs: 50, highMs: 600, periodMs: 2000 };

/**
 * The bonded run, then (unless --no-baseline) each link alone in single mode, of which the
 * best is reported as `single`. Every run is judged against the same oracle: all links'
 * delivery opportunities together, so the ratios compare what each run got of the same limit.
 */
export async function benchBond(o: BondBenchOptions): Promise<BondResult[]> {
  if (o.cc === 'both') {
    const out: BondResult[] = [];
    for (const cc of CC_NAMES) for (const r of await benchBond({ ...o, cc })) out.push({ ...r, impl: `tributary-${cc}` });
    return out;
  }
  const links = makeBondLinks(o);
  const events = parseEvents(o);
  const bonded = await runOne(o, o.bond, links, events);
  const orc = oracleOf(o, links, events, bonded.frames, bonded.mediaStartMs);
  const out = [finish(o, bonded, orc)];
  if (o.flap !== undefined) {
    if (!(Number.isInteger(o.flap) && o.flap >= 0 && o.flap < links.length)) throw new RangeError(`--flap: no link ${o.flap}`);
    const others = links.filter((_, i) => i !== o.flap);
    const own = events.filter((e) => e.link !== o.flap).map((e) => ({ ...e, link: e.link > o.flap! ? e.link - 1 : e.link }));
    const without = finish({ ...o, flap: undefined }, await runOne({ ...o, flap: undefined }, o.bond, others, own), orc);
    out.push({ ...without, variant: `without link ${o.flap}` });
  }
  if (o.baseline && links.length > 1) {
    let best: BondResult | undefined;
    for (let i = 0; i < links.length; i++) {
      const own = events.filter((e) => e.link === i).map((e) => ({ ...e, link: 0 }));
      const r = finish(o, await runOne(o, 'single', [links[i]!], own), orc);
      if (!best || r.video.onTimeRatio > best.video.onTimeRatio) best = r;
    }
    out.push(best!);
  }
  return out;
}

interface Run {
  mode: BondMode;
  links: BondLink[];
  frames: SourceFrame[];
  complete: Map<number, number>;
  wireBytes: number;
  linkBytes: number[];
  copyBytes: number;
  pathsDowned: number;
  events: LinkEvent[];
  /** Link time media started at (VirtualRunResult.mediaStartMs; 0 in real time). */
  mediaStartMs: number;
}

async function runOne(o: BondBenchOptions, mode: BondMode, links: BondLink[], events: LinkEvent[]): Promise<Run> {
  // The controller starts at the stream's bitrate plus a quarter, as `tributary send` does when
  // the encoder's onMetaData states its bitrate (a real encoder's setting is known).
  const peers = tributaryPeers(o.real ? performance.now() : 0, o.seed, 'link0', 'all', mode, 1.25 * o.bitrate * 1e6, o.cc === 'both' ? undefined : o.cc, o.scheduler);
  // Fresh link configs per run: a bottleneck's cursor belongs to one link model.
  const pairs = links.map((l) => {
    const b = l.bottleneck();
    return { up: { ...l.pair.up, bottleneck: b }, down: { ...l.pair.down } };
  });
  const common = {
    peers, links: pairs, events, seed: o.seed, bitrateBps: o.bitrate * 1e6, nonref: 0,
    reactionMs: o.adaptive ? o.reaction : undefined, durationMs: o.duration * 1000, latencyMs: o.latency,
  };
  const flap = o.flap;
  if (flap !== undefined && o.real) throw new RangeError('--flap runs in virtual time only');
  const onStep = flap === undefined ? undefined : (now: number, t0: number) => {
    const d = t0 >= 0 && Math.floor((now - t0) / FLAP.periodMs) % 2 === 1 ? FLAP.highMs : FLAP.lowMs;
    pairs[flap]!.up.delayMs = d;
    pairs[flap]!.down.delayMs = d;
  };
  const r = o.real ? await runReal(common) : runVirtual({ ...common, onStep });
  const st = peers.client.stats();
  return { mode, links, ...r, copyBytes: st.copyBytes ?? 0, pathsDowned: st.pathsDowned ?? 0, events, mediaStartMs: r.mediaStartMs };
}

/**
 * What the run's links offered, summed, bit/s: each link's mean capacity over the run, less
 * what its outages (--kill) took away. A link without a bottleneck makes it unlimited (0).
 */
function capacityOfLinks(o: BondBenchOptions, links: BondLink[], events: LinkEvent[], startMs: number): number {
  const end = o.duration * 1000;
  const outages = outagesOf(events, links.length);
  let sum = 0;
  for (let i = 0; i < links.length; i++) {
    const b = links[i]!.bottleneck(startMs);
    if (!b) return 0;
    let bits = b.meanBpsBetween(0, end) * end;
    for (const [a, z] of outages[i]!) {
      const from = Math.max(0, a), to = Math.min(end, z);
      if (to > from) bits -= b.meanBpsBetween(from, to) * (to - from);
    }
    sum += bits / end;
  }
  return sum;
}

function oracleOf(o: BondBenchOptions, links: BondLink[], events: LinkEvent[], frames: SourceFrame[], startMs: number): OracleResult {
  const outages = outagesOf(events, links.length);
  return oracleOver(frames, links.map((l, i) => ({ bottleneck: l.bottleneck(startMs), oneWayMs: l.rttMs / 2, outages: outages[i] })), o.latency);
}

function finish(o: BondBenchOptions, r: Run, orc: OracleResult): BondResult {
  const j = judge(r.frames, r.complete, o.latency);
  const base = makeResult('tributary', o.real ? 'real' : 'virtual', j, r.wireBytes, o.duration, orc, capacityOfLinks(o, r.links, r.events, r.mediaStartMs));
  const r4 = (x: number) => Math.round(x * 10000) / 10000;
  return {
    ...base,
    mode: r.mode,
    links: r.links.map((l) => l.name),
    maxExcessStallMs: Math.round(maxExcessStall(r.frames, j.decodable, orc.usable!)),
    share: r.linkBytes.map((b) => r4(r.wireBytes ? b / r.wireBytes : 0)),
    duplicateOverhead: r4(j.mediaBytes ? r.copyBytes / j.mediaBytes : 0),
    pathsDowned: r.pathsDowned,
  };
}

/** The longest run of consecutive video frames the oracle showed and the run did not, in ms of media time. */
export function maxExcessStall(frames: SourceFrame[], shown: Map<number, boolean>, oracleShown: Map<number, boolean>): number {
  let longest = 0, start = -1, last = -1;
  for (const f of frames) {
    if (f.kind !== 'video') continue;
    const excess = oracleShown.get(f.id) === true && shown.get(f.id) !== true;
    if (excess) {
      if (start < 0) start = f.capture;
      last = f.capture;
      longest = Math.max(longest, last - start + FRAME_MS);
    } else start = -1;
  }
  return longest;
}

export function formatBond(results: BondResult[]): string {
  const rows: Array<[string, (r: BondResult) => string]> = [
    ['links', (r) => r.links.join(', ')],
    ['audio on time (oracle)', (r) => `${r.audio.onTimeRatio} (${r.oracle.audio.onTimeRatio})`],
    ['video on time (oracle)', (r) => `${r.video.onTimeRatio} (${r.oracle.video.onTimeRatio})`],
    ['video / oracle', (r) => (r.oracle.video.onTimeRatio ? (r.video.onTimeRatio / r.oracle.video.onTimeRatio).toFixed(3) : '-')],
    ['keyframes on time', (r) => `${r.video.keyframeOnTimeRatio}`],
    ['latency p50/p95/p99/max ms', (r) => `${r.latencyMs.p50}/${r.latencyMs.p95}/${r.latencyMs.p99}/${r.latencyMs.max}`],
    ['max excess stall ms', (r) => `${r.maxExcessStallMs}`],
    ['share per link', (r) => r.share.join(' / ')],
    ['overhead / copies', (r) => `${r.overhead} / ${r.duplicateOverhead}`],
    ['media / wire kbps', (r) => `${r.mediaKbps} / ${r.wireKbps}`],
    ['capacity kbps (used)', (r) => capacityCell(r)],
    ['paths taken down', (r) => `${r.pathsDowned}`],
  ];
  const label = (r: BondResult) => (r.impl.startsWith('tributary-') ? `${r.impl.slice(10)}: ` : '') + (r.variant ? `${r.mode}, ${r.variant}` : r.mode);
  return formatColumns(results.map(label), results, rows);
}
