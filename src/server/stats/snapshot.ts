/**
 * What `GET /api/stats` answers: the shared time axis `t` (ms since the epoch, server clock)
 * and, per stream, arrays aligned with `t` from index `start` on (uPlot's data layout once
 * the page pads the front with nulls). null is a gap: nothing known at that sample.
 */
import type { ReportLink, SenderReport } from '../../media/tributary/report.js';

export type Values = (number | null)[];

export interface StreamHistory {
  path: string;
  app: string;
  key: string;
  live: boolean;
  publisher: { protocol: string; address: string } | null;
  /** Index into `t` of these arrays' first value. */
  start: number;
  /** bitrateInKbps, bitrateOutKbps, fps, ingestDelayMs. */
  series: Record<string, Values>;
  /** Viewers by protocol (rtmp, http-flv, ws-flv, tributary, ...). */
  viewers: Record<string, Values>;
  /** Viewers of protocols beyond the per-stream column cap, at the last sample. */
  otherViewers: number;
  /** Transport publishers only: the sender's own figures, as its reports gave them. */
  transport?: {
    /** rttMs, lossBeforeRepair, lossAfterRepair, fecShare, retransmitShare, sendingKbps, targetKbps. */
    series: Record<string, Values>;
    /** Age of the sender's latest report, ms (null: none yet). */
    reportAgeMs: number | null;
    bond: SenderReport['bond'] | null;
    /** The sender's links (bonded paths), as it last reported them. */
    links: ReportLink[];
    /** The same session's paths as the server receives them. */
    paths: { address: string; state: string; receiveKbps: number }[];
  };
}

/** One node of a cluster, as a cluster layer would report it (none exists yet: see setClusterSource). */
export interface ClusterNodeLoad {
  id: string;
  address: string;
  state: string;
  streams: number;
  viewers: number;
  /** 0..1: the node's own measure of how full it is. */
  load: number;
}

export interface ClusterSource {
  nodes(): ClusterNodeLoad[];
}

export interface StatsSnapshot {
  now: number;
  intervalMs: number;
  capacity: number;
  t: number[];
  streams: StreamHistory[];
  untrackedStreams: number;
  cluster: { nodes: ClusterNodeLoad[] } | null;
}
