import type { BenchOptions } from './Options.js';
import type { BenchResult } from './Report.js';

export async function benchTributary(_o: BenchOptions): Promise<BenchResult> {
  throw new Error('the tributary transport core (src/transport/index.ts) has not landed yet');
}
