import type { Stream } from '../Stream.js';
import type { Subscriber } from '../Subscriber.js';
import { Column } from './Columns.js';

/** Protocols one stream keeps a viewer column for; a stream's viewers use a handful (rtmp, http-flv, ws-flv, tributary, ...). */
export const MAX_PROTOCOLS = 8;
/** A sender report older than this is no longer the sender's current view: its figures show as gaps. */
const REPORT_STALE_MS = 3000;

/** The per-stream figures, sampled each tick; names are the JSON's. */
export const STREAM_FIELDS = ['bitrateInKbps', 'bitrateOutKbps', 'fps', 'ingestDelayMs'] as const;
/** A transport publisher's figures, from its sender's report. */
export const TRANSPORT_FIELDS = ['rttMs', 'lossBeforeRepair', 'lossAfterRepair', 'fecShare', 'retransmitShare', 'sendingKbps', 'targetKbps'] as const;
/** Decimals kept in the JSON per field. */
export const DIGITS: Record<string, number> = {
  bitrateInKbps: 0, bitrateOutKbps: 0, fps: 1, ingestDelayMs: 0,
  rttMs: 0, lossBeforeRepair: 4, lossAfterRepair: 4, fecShare: 4, retransmitShare: 4, sendingKbps: 0, targetKbps: 0,
};

type StreamField = (typeof STREAM_FIELDS)[number];
type TransportField = (typeof TRANSPORT_FIELDS)[number];

/**
 * One stream's history: a column per figure, a viewer column per protocol (at most
 * MAX_PROTOCOLS), and the transport columns once a sender report arrived. Rates are deltas of
 * the server's own counters (bytes in, bytes written to viewers) between two ticks.
 */
export class StreamSeries {
  /** Global tick of this stream's first sample; ticks before it are not this stream's. */
  readonly first: number;
  readonly columns: Record<StreamField, Column>;
  readonly viewers = new Map<string, Column>();
  transport: Record<TransportField, Column> | undefined;
  /** Viewers of protocols beyond MAX_PROTOCOLS, counted in the last sample only. */
  otherViewers = 0;
  private prev: { at: number; bytesIn: number; videoFrames: number } | undefined;
  private readonly sentBy = new WeakMap<Subscriber, number>();

  constructor(
    readonly stream: Stream,
    private readonly capacity: number,
    tick: number,
  ) {
    this.first = tick;
    this.columns = {
      bitrateInKbps: new Column(capacity),
      bitrateOutKbps: new Column(capacity),
      fps: new Column(capacity),
      ingestDelayMs: new Column(capacity),
    };
  }

  sample(tick: number, now: number): void {
    const s = this.stream;
    const c = this.columns;
    const counts: Record<string, number> = {};
    let sent = 0;
    for (const sub of s.subscribers.values()) {
      counts[sub.protocol] = (counts[sub.protocol] ?? 0) + 1;
      // A viewer seen for the first time: all it sent is new, unless it predates this stream's
      // first sample (then it only sets the baseline: the first rates are gaps anyway).
      const before = this.sentBy.get(sub) ?? (this.prev ? 0 : sub.bytesSent);
      sent += Math.max(0, sub.bytesSent - before);
      this.sentBy.set(sub, sub.bytesSent);
    }
    const dt = this.prev ? now - this.prev.at : 0;
    const live = s.isLive;
    c.bitrateInKbps.set(tick, dt > 0 ? ((s.bytesIn - this.prev!.bytesIn) * 8) / dt : Number.NaN);
    c.bitrateOutKbps.set(tick, dt > 0 ? (sent * 8) / dt : Number.NaN);
    // Counted between the two samples, not the Stream's 2 s estimate: summed over samples, the counts add up.
    c.fps.set(tick, dt > 0 && live ? ((s.videoFramesIn - this.prev!.videoFrames) * 1000) / dt : Number.NaN);
    c.ingestDelayMs.set(tick, live && s.ingestDelayMs !== undefined ? s.ingestDelayMs : Number.NaN);
    this.prev = { at: now, bytesIn: s.bytesIn, videoFrames: s.videoFramesIn };
    this.sampleViewers(tick, counts);
    this.sampleTransport(tick, now);
  }

  private sampleViewers(tick: number, counts: Record<string, number>): void {
    this.otherViewers = 0;
    for (const [p, n] of Object.entries(counts)) {
      if (this.viewers.has(p)) continue;
      // Zero before it appeared: that protocol had no viewers then.
      if (this.viewers.size < MAX_PROTOCOLS) this.viewers.set(p, new Column(this.capacity, 0));
      else this.otherViewers += n;
    }
    for (const [p, col] of this.viewers) col.set(tick, counts[p] ?? 0);
  }

  private sampleTransport(tick: number, now: number): void {
    const r = this.stream.publisher?.senderReport?.();
    if (!r && !this.transport) return;
    const t = (this.transport ??= Object.fromEntries(TRANSPORT_FIELDS.map((f) => [f, new Column(this.capacity)])) as Record<TransportField, Column>);
    const fresh = r !== undefined && now - r.at <= REPORT_STALE_MS ? r.report : undefined;
    const values: Record<TransportField, number> = fresh
      ? {
        rttMs: fresh.rttMs, lossBeforeRepair: fresh.lossBeforeRepair, lossAfterRepair: fresh.lossAfterRepair,
        fecShare: fresh.fecShare, retransmitShare: fresh.retransmitShare, sendingKbps: fresh.sendingBps / 1000, targetKbps: fresh.targetBps / 1000,
      }
      : { rttMs: NaN, lossBeforeRepair: NaN, lossAfterRepair: NaN, fecShare: NaN, retransmitShare: NaN, sendingKbps: NaN, targetKbps: NaN };
    for (const f of TRANSPORT_FIELDS) t[f].set(tick, values[f]);
  }
}
