import { RateBottleneck, TraceBottleneck, type Bottleneck } from '../../emulator/Bottleneck.js';
import { loadTrace } from '../../emulator/Trace.js';
import type { BondMode } from '../../transport/index.js';
import type { SchedulerName } from '../../transport/scheduler/Scheduler.js';
import type { CcName } from '../../transport/cc/select.js';
import type { LinkEvent, LinkPair } from '../transport/VirtualRun.js';

/** `bench bond` options as given: per-link options are comma-separated lists (one value = every link). */
export interface BondBenchOptions {
  links: number;
  trace?: string;
  rate?: string;
  rtt: string;
  jitter: string;
  loss: string;
  burst: string;
  bitrate: number;
  latency: number;
  duration: number;
  seed: number;
  bond: BondMode;
  /** Which path each packet takes: earliest-arrival (pooling) or lowest-rtt (the old rule). */
  scheduler: SchedulerName;
  /** Congestion controller of every path: one, or 'both' for one run of each (labelled tributary-NAME). */
  cc: CcName | 'both';
  kill: string[];
  revive: string[];
  /** Link whose RTT alternates every 2 s between 100 and 1200 ms (the flapping case). */
  flap?: number;
  adaptive: boolean;
  reaction: number;
  /** Also run each link alone ('single' mode) and report the best (default true). */
  baseline: boolean;
  /** Real sockets and real time: link I leaves from 127.0.0.<I+2> through its own emulator. */
  real: boolean;
  json: boolean;
}

export const BOND_DEFAULTS: BondBenchOptions = {
  links: 3, rtt: '300', jitter: '0', loss: '0', burst: '1', bitrate: 2, latency: 1000, duration: 60, seed: 1,
  bond: 'aggregate', scheduler: 'earliest-arrival', cc: 'delay', kill: [], revive: [], adaptive: false, reaction: 500, baseline: true, real: false, json: false,
};

/** One link as the run and the oracle see it. */
export interface BondLink {
  name: string;
  rttMs: number;
  pair: LinkPair;
  /** A fresh bottleneck (cursors are per user, but the oracle must not share the run's). */
  bottleneck: (startMs?: number) => Bottleneck | undefined;
}

function list(name: string, v: string | undefined, n: number): string[] | undefined {
  if (v === undefined) return undefined;
  const parts = v.split(',').map((x) => x.trim());
  if (parts.length === 1) return Array(n).fill(parts[0]);
  if (parts.length !== n) throw new RangeError(`--${name} has ${parts.length} values for ${n} links`);
  return parts;
}

function nums(name: string, v: string | undefined, n: number, ok: (x: number) => boolean): number[] | undefined {
  const l = list(name, v, n);
  return l?.map((s) => {
    const x = Number(s);
    if (!Number.isFinite(x) || !ok(x)) throw new RangeError(`--${name}: bad value ${s}`);
    return x;
  });
}

/**
 * The links: each one's media direction has its bottleneck (trace or rate) and a drop-tail
 * queue of about a second of its mean capacity; the feedback direction has the same delay and
 * loss, no capacity limit. Queue and direction split as in `bench transport`.
 */
export function makeBondLinks(o: BondBenchOptions): BondLink[] {
  const n = o.links;
  if (!(Number.isInteger(n) && n >= 1 && n <= 8)) throw new RangeError('--links must be 1..8');
  if (o.trace && o.rate) throw new RangeError('give --trace or --rate, not both');
  const traces = list('trace', o.trace, n);
  const rates = nums('rate', o.rate, n, (x) => x > 0);
  const rtts = nums('rtt', o.rtt, n, (x) => x >= 0)!;
  const jitters = nums('jitter', o.jitter, n, (x) => x >= 0)!;
  const losses = nums('loss', o.loss, n, (x) => x >= 0 && x < 100)!;
  const bursts = nums('burst', o.burst, n, (x) => x >= 1)!;
  const out: BondLink[] = [];
  for (let i = 0; i < n; i++) {
    const trace = traces?.[i] ? loadTrace(traces[i]!) : undefined;
    const bottleneck = (startMs = 0) => (trace ? new TraceBottleneck(trace, startMs) : rates ? new RateBottleneck(rates[i]! * 1e6) : undefined);
    const b = bottleneck();
    const base = { delayMs: rtts[i]! / 2, jitterMs: jitters[i]!, loss: losses[i]! / 100, burst: bursts[i]! };
    const queueBytes = b ? Math.max(65536, Math.round(b.meanBps / 8)) : undefined;
    const name = traces?.[i] ?? (rates ? `${rates[i]} Mbit/s` : 'unlimited');
    out.push({ name, rttMs: rtts[i]!, pair: { up: { ...base, bottleneck: b, queueBytes }, down: { ...base } }, bottleneck });
  }
  return out;
}

/** `--kill I@SEC` and `--revive I@SEC` (repeatable, or comma lists) as link events. */
export function parseEvents(o: BondBenchOptions): LinkEvent[] {
  const out: LinkEvent[] = [];
  const add = (kind: 'kill' | 'revive', specs: string[]) => {
    for (const spec of specs.flatMap((s) => s.split(','))) {
      const m = /^(\d+)@(\d+(?:\.\d+)?)$/.exec(spec.trim());
      if (!m) throw new RangeError(`--${kind} wants LINK@SECONDS, got ${spec}`);
      const link = Number(m[1]);
      if (link >= o.links) throw new RangeError(`--${kind}: no link ${link} (links are 0..${o.links - 1})`);
      out.push({ link, atMs: Number(m[2]) * 1000, kind });
    }
  };
  add('kill', o.kill);
  add('revive', o.revive);
  return out;
}

/** The outages the events make, per link, for the oracle: [kill, revive or forever). */
export function outagesOf(events: LinkEvent[], links: number): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = Array.from({ length: links }, () => []);
  for (const e of [...events].sort((a, b) => a.atMs - b.atMs)) {
    const l = out[e.link]!;
    const open = l.length && l[l.length - 1]![1] === Infinity;
    if (e.kind === 'kill' && !open) l.push([e.atMs, Infinity]);
    if (e.kind === 'revive' && open) l[l.length - 1]![1] = e.atMs;
  }
  return out;
}
