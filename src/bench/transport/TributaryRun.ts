import { judge } from './Judge.js';
import { oracle } from './Oracle.js';
import { type BenchOptions, capacityOf, makeBottleneck, makeLinks, validate } from './Options.js';
import { type BenchResult, makeResult } from './Report.js';
import { runReal } from './RealRun.js';
import { CLIENT_PATH, runVirtual } from './VirtualRun.js';
import { tributaryPeers } from './tributaryPeers.js';
import type { CcName } from '../../transport/cc/select.js';

/**
 * BenchOptions.clairvoyant: a share of the least capacity the trace offers in 250 ms steps over
 * the second that starts when the encoder will have followed (its reaction delay later), at link
 * time t (the trace's own clock). Read on a bottleneck of its own: the link's cursor is the link's.
 */
function clairvoyantTarget(o: BenchOptions): (linkMs: number) => number {
  const b = makeBottleneck(o)!;
  const share = o.clairvoyant!;
  return (t) => {
    let least = Infinity;
    for (let a = t + o.reaction; a < t + o.reaction + 1000; a += 250) least = Math.min(least, b.meanBpsBetween(a, a + 250));
    return Math.max(100_000, share * least);
  };
}

/** The tributary transport core under the bench: virtual time by default, real sockets with --real. */
export async function benchTributary(o: BenchOptions, cc: CcName = 'delay'): Promise<BenchResult> {
  validate(o);
  const bottleneck = makeBottleneck(o);
  const links = makeLinks(o, bottleneck);
  const common = {
    seed: o.seed,
    bitrateBps: o.bitrate * 1e6,
    nonref: o.nonref,
    reactionMs: o.adaptive ? o.reaction : undefined,
    durationMs: o.duration * 1000,
    latencyMs: o.latency,
  };
  if (o.clairvoyant !== undefined && (o.real || !o.adaptive || !o.trace)) throw new RangeError('--clairvoyant needs --adaptive and --trace, in virtual time');
  const r = o.real
    ? await runReal({ ...common, links: [links], peers: tributaryPeers(performance.now(), o.seed, 'link0', 'all', 'single', undefined, cc) })
    : runVirtual({ ...common, links: [links], peers: tributaryPeers(0, o.seed, CLIENT_PATH, 'all', 'single', undefined, cc), targetAt: o.clairvoyant === undefined ? undefined : clairvoyantTarget(o) });
  const j = judge(r.frames, r.complete, o.latency);
  const start = r.mediaStartMs;
  const orc = oracle(r.frames, makeBottleneck(o, start), o.rtt / 2, o.latency);
  return makeResult(o.cc === 'both' ? `tributary-${cc}` : 'tributary', o.real ? 'real' : 'virtual', j, r.wireBytes, o.duration, orc, capacityOf(o, start));
}
