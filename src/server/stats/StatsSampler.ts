/**
 * The dashboard's memory: one sample a second of every stream's figures (and every transport
 * publisher's, from its sender's report), the last `capacity` samples kept. Sans-IO: the
 * server's shell calls `sample(now)` from its timer; tests and benches call it with any clock.
 *
 * Bounded whatever happens: at most `maxStreams` streams are followed (the others are counted
 * in `untracked` and left out), each with a fixed number of fixed-size columns (StreamSeries),
 * so the whole is at most maxStreams x 19 columns x capacity x 4 bytes (500 x 19 x 600 x 4 =
 * 23 MB at the defaults; a stream with no transport publisher and two viewer protocols takes
 * 6 columns, 14 KB). A stream that leaves the registry is forgotten at the next sample.
 */
import type { Registry } from '../Registry.js';
import type { Stream } from '../Stream.js';
import { TimeAxis } from './Columns.js';
import { DIGITS, STREAM_FIELDS, StreamSeries, TRANSPORT_FIELDS } from './StreamSeries.js';
import type { ClusterSource, StatsSnapshot, StreamHistory } from './snapshot.js';

export interface SamplerOptions {
  /** Samples kept per series (default 600: ten minutes at one a second). */
  capacity: number;
  /** Streams followed at most (default 500). */
  maxStreams: number;
  /** The interval the shell samples at, ms (default 1000); only reported to the page. */
  intervalMs: number;
}

export const DEFAULT_SAMPLER_OPTIONS: SamplerOptions = { capacity: 600, maxStreams: 500, intervalMs: 1000 };

export class StatsSampler {
  readonly options: SamplerOptions;
  private readonly axis: TimeAxis;
  private readonly series = new Map<Stream, StreamSeries>();
  /** Streams in the registry at the last sample that were not followed (over maxStreams). */
  untracked = 0;
  private cluster: ClusterSource | undefined;

  constructor(
    private readonly registry: Registry,
    options: Partial<SamplerOptions> = {},
  ) {
    this.options = { ...DEFAULT_SAMPLER_OPTIONS, ...options };
    if (!Number.isInteger(this.options.maxStreams) || this.options.maxStreams < 1) throw new RangeError('maxStreams must be a positive integer');
    this.axis = new TimeAxis(this.options.capacity);
  }

  /** Streams followed now. */
  get streamCount(): number {
    return this.series.size;
  }

  /** Samples taken since the start (each one a tick of the shared time axis). */
  get ticks(): number {
    return this.axis.count;
  }

  /**
   * Where a cluster plugs in its nodes' load (the dashboard shows them when set). Until a
   * cluster layer exists nothing calls this and the snapshot's `cluster` is null.
   */
  setClusterSource(source: ClusterSource | undefined): void {
    this.cluster = source;
  }

  /** Takes one sample of every stream at `now` (ms, the same clock every time; Date.now in the server). */
  sample(now: number): void {
    const tick = this.axis.push(now);
    const current = new Set(this.registry.streams());
    // Gone streams first, so their slots go to streams waiting beyond maxStreams at once.
    for (const s of this.series.keys()) if (!current.has(s)) this.series.delete(s);
    let untracked = 0;
    for (const s of current) {
      let ser = this.series.get(s);
      if (!ser) {
        if (this.series.size >= this.options.maxStreams) {
          untracked++;
          continue;
        }
        ser = new StreamSeries(s, this.options.capacity, tick);
        this.series.set(s, ser);
      }
      ser.sample(tick, now);
    }
    this.untracked = untracked;
  }

  /** Everything held, or only the samples taken after `since` (ms) for a page that has the rest. */
  snapshot(now: number, since = -Infinity): StatsSnapshot {
    const to = this.axis.count;
    const from = this.axis.firstAfter(since);
    const t: number[] = [];
    for (let k = from; k < to; k++) t.push(this.axis.time(k));
    const streams: StreamHistory[] = [];
    const sorted = [...this.series.values()].sort((a, b) => (a.stream.path < b.stream.path ? -1 : a.stream.path > b.stream.path ? 1 : 0));
    for (const ser of sorted) streams.push(this.history(ser, Math.max(from, ser.first), to, from, now));
    return {
      now,
      intervalMs: this.options.intervalMs,
      capacity: this.options.capacity,
      t,
      streams,
      untrackedStreams: this.untracked,
      cluster: this.cluster ? { nodes: this.cluster.nodes() } : null,
    };
  }

  private history(ser: StreamSeries, start: number, to: number, from: number, now: number): StreamHistory {
    const s = ser.stream;
    const series: Record<string, (number | null)[]> = {};
    for (const f of STREAM_FIELDS) series[f] = ser.columns[f].slice(start, to, DIGITS[f]!);
    const viewers: Record<string, (number | null)[]> = {};
    for (const [p, col] of ser.viewers) viewers[p] = col.slice(start, to, 0);
    const h: StreamHistory = {
      path: s.path,
      app: s.app,
      key: s.key,
      live: s.isLive,
      publisher: s.publisher ? { protocol: s.publisher.protocol, address: s.publisher.remoteAddress } : null,
      start: start - from,
      series,
      viewers,
      otherViewers: ser.otherViewers,
    };
    if (ser.transport) {
      const ts: Record<string, (number | null)[]> = {};
      for (const f of TRANSPORT_FIELDS) ts[f] = ser.transport[f].slice(start, to, DIGITS[f]!);
      const r = s.publisher?.senderReport?.();
      h.transport = {
        series: ts,
        reportAgeMs: r ? now - r.at : null,
        bond: r?.report.bond ?? null,
        links: (r?.report.links ?? []).map((l) => ({ ...l, loss: round(l.loss, 4), share: round(l.share, 3) })),
        paths: (s.publisher?.paths?.() ?? []).map((p) => ({ address: p.path, state: p.state, receiveKbps: Math.round(p.receiveRateBps / 1000) })),
      };
    }
    return h;
  }
}

function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}
