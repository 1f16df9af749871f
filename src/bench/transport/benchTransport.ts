import type { BenchOptions } from './Options.js';
import { validate } from './Options.js';
import type { BenchResult } from './Report.js';
import { benchSrt } from './run.js';
import { benchTributary } from './TributaryRun.js';

/** Runs the implementations asked for, one after the other (never at once: they would share the CPU). */
export async function benchTransport(o: BenchOptions): Promise<BenchResult[]> {
  validate(o);
  const out: BenchResult[] = [];
  if (o.impl === 'tributary' || o.impl === 'both') {
    for (const cc of o.cc === 'both' ? (['delay', 'capacity'] as const) : [o.cc]) out.push(await benchTributary(o, cc));
  }
  if (o.impl === 'srt' || o.impl === 'both') out.push(await benchSrt(o));
  return out;
}
