import { judge } from './Judge.js';
import { oracle } from './Oracle.js';
import { type BenchOptions, capacityOf, makeBottleneck, makeLinks, validate } from './Options.js';
import { type BenchResult, makeResult } from './Report.js';
import { SyntheticSource, type SourceFrame } from './Source.js';
import { runSrt } from './SrtRun.js';

/** Every frame of a non-adaptive source for the whole run, in capture order. */
export function allFrames(o: BenchOptions): SourceFrame[] {
  const src = new SyntheticSource({ bitrateBps: o.bitrate * 1e6, nonref: o.nonref, seed: o.seed });
  return src.take(o.duration * 1000 - 1e-9);
}

/** SRT's latency counts from the first packet's arrival: the deadline minus one-way delay and a margin. */
export function srtLatencyFor(o: BenchOptions): number {
  const margin = 40 + o.jitter * 3;
  return o.latency - o.rtt / 2 - margin;
}

export async function benchSrt(o: BenchOptions): Promise<BenchResult> {
  validate(o);
  const bottleneck = makeBottleneck(o);
  const frames = allFrames(o);
  const r = await runSrt({
    frames,
    links: makeLinks(o, bottleneck),
    srtLatencyMs: srtLatencyFor(o),
    durationS: o.duration,
    drainMs: o.latency + 500,
    seed: o.seed,
  });
  const j = judge(frames, r.complete, o.latency);
  const orc = oracle(frames, makeBottleneck(o), o.rtt / 2, o.latency);
  return makeResult('srt', 'real', j, r.wireBytes, o.duration, orc, capacityOf(o));
}
