/** Latency summary of a sample, rounded to 0.1 ms: what every bench table and JSON line reports. */
export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Sorts `values` in place and summarises them (zeros for an empty sample). */
export function summarize(values: number[]): LatencySummary {
  values.sort((a, b) => a - b);
  const at = (p: number): number => (values.length ? round(values[Math.min(values.length - 1, Math.floor(p * values.length))]!) : 0);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: values.length ? round(values[values.length - 1]!) : 0 };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
