import type { Judgement } from './Judge.js';
import type { OracleResult } from './Oracle.js';
import { formatColumns } from '../table.js';

/** One implementation's result, in the JSON shape. */
export interface BenchResult {
  impl: string;
  clock: 'virtual' | 'real';
  audio: Judgement['audio'];
  video: Judgement['video'];
  latencyMs: Judgement['latencyMs'];
  overhead: number;
  /** Media the source produced, kbit/s. */
  mediaKbps: number;
  wireKbps: number;
  /** Media a viewer could use (audio on time, video on time and decodable), kbit/s. */
  onTimeKbps: number;
  /** Mean capacity the run's links offered over the run (IP bytes, outages excluded), kbit/s; 0 = unlimited. */
  capacityKbps: number;
  /** mediaKbps / capacityKbps (0 when unlimited). */
  capacityUsed: number;
  oracle: OracleResult;
}

export function makeResult(
  impl: string, clock: 'virtual' | 'real', j: Judgement, wireBytes: number, durationS: number, oracle: OracleResult,
  capacityBps = 0,
): BenchResult {
  const mediaKbps = Math.round((j.mediaBytes * 8) / durationS / 1000);
  const capacityKbps = Math.round(capacityBps / 1000);
  const r4 = (x: number) => Math.round(x * 10000) / 10000;
  return {
    impl,
    clock,
    audio: { ...j.audio, onTimeRatio: r4(j.audio.onTimeRatio) },
    video: { ...j.video, onTimeRatio: r4(j.video.onTimeRatio), keyframeOnTimeRatio: r4(j.video.keyframeOnTimeRatio) },
    latencyMs: j.latencyMs,
    overhead: j.mediaBytes ? r4(wireBytes / j.mediaBytes - 1) : 0,
    mediaKbps,
    wireKbps: Math.round((wireBytes * 8) / durationS / 1000),
    onTimeKbps: Math.round((j.onTimeBytes * 8) / durationS / 1000),
    capacityKbps,
    capacityUsed: capacityKbps > 0 ? r4(mediaKbps / capacityKbps) : 0,
    oracle: {
      audio: { onTimeRatio: r4(oracle.audio.onTimeRatio) },
      video: { onTimeRatio: r4(oracle.video.onTimeRatio) },
    },
  };
}

/** A table for a person: one column per implementation. */
export function formatTable(results: BenchResult[]): string {
  const rows: Array<[string, (r: BenchResult) => string]> = [
    ['clock', (r) => r.clock],
    ['audio on time', (r) => `${r.audio.onTime}/${r.audio.sent} (${r.audio.onTimeRatio})`],
    ['video on time', (r) => `${r.video.onTime}/${r.video.sent} (${r.video.onTimeRatio})`],
    ['keyframes on time', (r) => `${r.video.keyframeOnTimeRatio}`],
    ['latency p50/p95/p99/max ms', (r) => `${r.latencyMs.p50}/${r.latencyMs.p95}/${r.latencyMs.p99}/${r.latencyMs.max}`],
    ['overhead', (r) => `${r.overhead}`],
    ['media / wire kbps', (r) => `${r.mediaKbps} / ${r.wireKbps}`],
    ['capacity kbps (used)', (r) => capacityCell(r)],
    ['oracle audio / video', (r) => `${r.oracle.audio.onTimeRatio} / ${r.oracle.video.onTimeRatio}`],
  ];
  return formatColumns(results.map((r) => r.impl), results, rows);
}

/** "capacity (media / capacity; usable media / capacity)", or "unlimited". */
export function capacityCell(r: BenchResult): string {
  if (!r.capacityKbps) return 'unlimited';
  return `${r.capacityKbps} (${r.capacityUsed}; on time ${(r.onTimeKbps / r.capacityKbps).toFixed(3)})`;
}
