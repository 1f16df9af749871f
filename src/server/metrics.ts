import { Counter, Gauge, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { Registry } from './Registry.js';
import type { Stream } from './Stream.js';
import type { Subscriber } from './Subscriber.js';

/** Connection figures a protocol listener (RTMP, ...) reports; read at scrape time. */
export interface ListenerStats {
  connections: number;
  connectionsTotal: number;
  rejectedTotal: number;
  bytesIn?: number;
  bytesOut?: number;
  /** Protocol messages dropped without closing the connection (bad media, unknown types). */
  messagesDropped?: number;
}

/** The input limits' figures (MemoryBudget, AddressLimiter and what they refused); read at scrape time. */
export interface LimitStats {
  budgetUsedBytes: number;
  budgetPeakBytes: number;
  budgetLimitBytes: number;
  /** Connections refused at accept or closed later by a limit, by listener, then by reason. */
  refused: Record<string, Record<string, number>>;
}

/**
 * The Prometheus view of a server, on its own prom-client registry (two servers in one
 * process, as tests run them, don't mix their figures). Stream and viewer figures are read
 * from the object model when scraped, so the hot path pays nothing; byte and drop counters
 * advance by what changed since the last scrape, and `retire*` counts what a leaving viewer
 * or stream did since then.
 */
export class Metrics {
  readonly prom = new PromRegistry();
  readonly httpRequests: Counter<'route' | 'status'>;
  private listeners = new Map<string, () => ListenerStats>();
  private seenStream = new WeakMap<Stream, { bytes: number; dropped: number }>();
  private seenSub = new WeakMap<Subscriber, { bytes: number; skipped: number }>();
  private bytesIn: Counter;
  private bytesOut: Counter<'protocol'>;
  private dropped: Counter<'reason'>;
  private skipped: Counter<'protocol'>;

  constructor(private readonly registry: Registry) {
    const registers = [this.prom];
    collectDefaultMetrics({ register: this.prom });
    // First, so its collect() sweeps the counters before they are read in this scrape.
    const self = this;
    new Gauge({
      name: 'tributary_streams', help: 'Streams with a publisher', registers,
      collect() {
        self.sweep();
        let live = 0;
        for (const s of registry.streams()) if (s.isLive) live++;
        this.set(live);
      },
    });
    this.httpRequests = new Counter({ name: 'tributary_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers });
    this.bytesIn = new Counter({ name: 'tributary_ingest_bytes_total', help: 'Media payload bytes received from publishers', registers });
    this.bytesOut = new Counter({ name: 'tributary_egress_bytes_total', help: 'Bytes written to viewers by protocol', labelNames: ['protocol'], registers });
    this.dropped = new Counter({ name: 'tributary_dropped_frames_total', help: 'Frames dropped: ingest (before config, time going back) or slow_viewer (skipped)', labelNames: ['reason'], registers });
    // The slow_viewer drops by protocol: which kind of viewer the server judges slow (a transport
    // viewer's queue is an estimate, an FLV viewer's the kernel's).
    this.skipped = new Counter({ name: 'tributary_viewer_skipped_frames_total', help: 'Frames skipped for viewers judged slow, by protocol', labelNames: ['protocol'], registers });
    new Gauge({
      name: 'tributary_viewers', help: 'Viewers by protocol', labelNames: ['protocol'], registers,
      collect() {
        this.reset();
        for (const s of registry.streams()) for (const [p, n] of Object.entries(s.viewerCounts())) this.inc({ protocol: p }, n);
      },
    });
    new Gauge({
      name: 'tributary_ingest_delay_ms', help: 'Age of the latest frame on arrival (server clock minus the sender capture stamp), by stream', labelNames: ['stream'], registers,
      collect() {
        this.reset();
        for (const s of registry.streams()) if (s.isLive && s.ingestDelayMs !== undefined) this.set({ stream: s.path }, s.ingestDelayMs);
      },
    });
    new Gauge({
      name: 'tributary_publisher_path_receive_bps', help: 'Bits per second arriving on each path of a transport publisher (several for a bonded sender), by stream and path', labelNames: ['stream', 'path'], registers,
      collect() {
        this.reset();
        for (const s of registry.streams()) for (const p of s.publisher?.paths?.() ?? []) this.set({ stream: s.path, path: p.path }, p.receiveRateBps);
      },
    });
    const listenerGauge = (name: string, help: string, pick: (s: ListenerStats) => number | undefined) =>
      new Gauge({
        name, help, labelNames: ['listener'], registers,
        collect() {
          this.reset();
          for (const [l, read] of self.listeners) {
            const v = pick(read());
            if (v !== undefined) this.set({ listener: l }, v);
          }
        },
      });
    listenerGauge('tributary_listener_connections', 'Open connections per listener (rtmp, http)', (s) => s.connections);
    listenerGauge('tributary_listener_connections_accepted', 'Connections accepted since start per listener', (s) => s.connectionsTotal);
    listenerGauge('tributary_listener_connections_rejected', 'Connections refused (auth, limits, protocol errors) per listener', (s) => s.rejectedTotal);
    listenerGauge('tributary_listener_bytes_received', 'Bytes received per listener', (s) => s.bytesIn);
    listenerGauge('tributary_listener_bytes_sent', 'Bytes sent per listener', (s) => s.bytesOut);
    listenerGauge('tributary_listener_messages_dropped', 'Protocol messages dropped without closing the connection', (s) => s.messagesDropped);
  }

  /** Exposes the input budget and per-address cap (once per server). */
  addLimits(read: () => LimitStats): void {
    const registers = [this.prom];
    new Gauge({
      name: 'tributary_input_budget_bytes', help: 'Bytes unauthenticated peers make the server hold (unfinished messages, connection state), by kind: used, peak, limit', labelNames: ['kind'], registers,
      collect() {
        const s = read();
        this.set({ kind: 'used' }, s.budgetUsedBytes);
        this.set({ kind: 'peak' }, s.budgetPeakBytes);
        this.set({ kind: 'limit' }, s.budgetLimitBytes);
      },
    });
    new Counter({
      name: 'tributary_connections_limited_total', help: 'Connections refused at accept or closed by an input limit (address limit, memory budget, too much buffered, ws input), by listener and reason', labelNames: ['listener', 'reason'], registers,
      collect() {
        // The figures are monotonic counts kept by the listeners; the counter mirrors them.
        this.reset();
        for (const [listener, byReason] of Object.entries(read().refused)) {
          for (const [reason, n] of Object.entries(byReason)) if (n > 0) this.inc({ listener, reason: reason.replace(/ /g, '_') }, n);
        }
      },
    });
  }

  /** Adds a protocol listener whose stats are read at each scrape. */
  addListener(name: string, read: () => ListenerStats): void {
    this.listeners.set(name, read);
  }

  /** Counts what a viewer did since the last scrape; call when it leaves. */
  retireSubscriber(sub: Subscriber): void {
    this.countSub(sub);
  }

  retireStream(stream: Stream): void {
    this.countStream(stream);
  }

  async text(): Promise<string> {
    return this.prom.metrics();
  }

  get contentType(): string {
    return this.prom.contentType;
  }

  private sweep(): void {
    for (const s of this.registry.streams()) {
      this.countStream(s);
      for (const sub of s.subscribers.values()) this.countSub(sub);
    }
  }

  private countStream(s: Stream): void {
    const seen = this.seenStream.get(s) ?? { bytes: 0, dropped: 0 };
    if (s.bytesIn > seen.bytes) this.bytesIn.inc(s.bytesIn - seen.bytes);
    if (s.framesDropped > seen.dropped) this.dropped.inc({ reason: 'ingest' }, s.framesDropped - seen.dropped);
    this.seenStream.set(s, { bytes: s.bytesIn, dropped: s.framesDropped });
  }

  private countSub(sub: Subscriber): void {
    const seen = this.seenSub.get(sub) ?? { bytes: 0, skipped: 0 };
    if (sub.bytesSent > seen.bytes) this.bytesOut.inc({ protocol: sub.protocol }, sub.bytesSent - seen.bytes);
    const skipped = sub.skippedFrames - seen.skipped;
    if (skipped > 0) {
      this.dropped.inc({ reason: 'slow_viewer' }, skipped);
      this.skipped.inc({ protocol: sub.protocol }, skipped);
    }
    this.seenSub.set(sub, { bytes: sub.bytesSent, skipped: sub.skippedFrames });
  }
}
