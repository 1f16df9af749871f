import { RateBottleneck, TraceBottleneck, type Bottleneck } from '../../emulator/Bottleneck.js';
import type { LinkConfig } from '../../emulator/LinkConfig.js';
import { loadTrace } from '../../emulator/Trace.js';

export interface BenchOptions {
  trace?: string;
  /** Link rate, Mbit/s (ignored with a trace). */
  rate?: number;
  rtt: number;
  jitter: number;
  /** Percent. */
  loss: number;
  burst: number;
  /** Media bitrate, Mbit/s. */
  bitrate: number;
  /** Deadline, ms. */
  latency: number;
  /** Seconds of media. */
  duration: number;
  seed: number;
  traceOffset: number;
  adaptive: boolean;
  nonref: number;
  real: boolean;
  impl: 'tributary' | 'srt' | 'both';
  json: boolean;
  /** Bottleneck queue, bytes. */
  queue?: number;
  /** Encoder reaction delay in adaptive mode, ms. */
  reaction: number;
  /**
   * Adaptive mode, virtual time: the encoder is told this share of the least capacity the
   * bottleneck will offer in 250 ms steps over [t + reaction, t + reaction + 1 s], instead of
   * the controller's target. The send path (window, pacing, repair, shedding) is the session's
   * own, so the run shows what it delivers given a perfect estimate.
   */
  clairvoyant?: number;
  /** Congestion controller of tributary's runs: one, or 'both' for one run of each. */
  cc: 'delay' | 'capacity' | 'both';
}

export const DEFAULTS: BenchOptions = {
  rtt: 100, jitter: 0, loss: 0, burst: 1, bitrate: 1.2, latency: 600, duration: 30, seed: 1, traceOffset: 0,
  adaptive: false, nonref: 0, real: false, impl: 'tributary', json: false, reaction: 500, cc: 'delay',
};

/** The media-direction bottleneck described by the options (undefined = unlimited). */
/** The media direction's bottleneck; `startMs` later in the trace for the oracle (see VirtualRunResult.mediaStartMs). */
export function makeBottleneck(o: BenchOptions, startMs = 0): Bottleneck | undefined {
  if (o.trace) return new TraceBottleneck(loadTrace(o.trace), o.traceOffset * 1000 + startMs);
  if (o.rate !== undefined && o.rate > 0) return new RateBottleneck(o.rate * 1e6);
  return undefined;
}

/** Mean capacity of the media direction over the run, bit/s (0 = unlimited). */
export function capacityOf(o: BenchOptions, startMs = 0): number {
  return makeBottleneck(o, startMs)?.meanBpsBetween(0, o.duration * 1000) ?? 0;
}

/**
 * Both directions: the media direction carries the bottleneck and its queue; the feedback
 * direction has the same delay and loss but no capacity limit. The default queue holds about
 * one second at the bottleneck's mean rate (never under 64 KiB), a common cellular buffer.
 */
export function makeLinks(o: BenchOptions, bottleneck: Bottleneck | undefined): { up: LinkConfig; down: LinkConfig } {
  const base: LinkConfig = {
    delayMs: o.rtt / 2,
    jitterMs: o.jitter,
    loss: o.loss / 100,
    burst: o.burst,
  };
  const queueBytes = o.queue ?? (bottleneck ? Math.max(65536, Math.round(bottleneck.meanBps / 8)) : undefined);
  return { up: { ...base, bottleneck, queueBytes }, down: { ...base } };
}

export function validate(o: BenchOptions): void {
  const bad = (m: string) => {
    throw new RangeError(m);
  };
  if (o.trace && o.rate !== undefined) bad('give --trace or --rate, not both');
  if (!(o.rtt >= 0)) bad('--rtt must be >= 0');
  if (!(o.loss >= 0 && o.loss < 100)) bad('--loss must be a percentage in [0, 100)');
  if (!(o.burst >= 1)) bad('--burst must be >= 1');
  if (!(o.bitrate > 0)) bad('--bitrate must be > 0');
  if (!(o.latency > 0)) bad('--latency must be > 0');
  if (!(o.duration > 0)) bad('--duration must be > 0');
  if (!(o.nonref >= 0 && o.nonref <= 1)) bad('--nonref must be a fraction in [0, 1]');
}
