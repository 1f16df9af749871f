/** A session's counters, and the snapshot `Session.stats()` returns. */
import type { PathStats, SessionStats } from '../api.js';
import type { Path } from '../Path.js';

/** 'overdue': a copy sent early for a packet stuck on a path that has gone quiet (LossRecovery.hedge). */
export type RetransmitCause = 'nack' | 'reorder' | 'early' | 'timeout' | 'path-down' | 'overdue';

export class Counters {
  packetsSent = 0;
  packetsReceived = 0;
  bytesSent = 0;
  bytesReceived = 0;
  retransmits = 0;
  fecPacketsSent = 0;
  messagesDropped = 0;
  dataPacketsSent = 0;
  dataPacketsLost = 0;
  /** Messages offered on deadline streams, and those of them given up (lossAfterRepair). */
  deadlineMessages = 0;
  deadlineLost = 0;
  copyBytes = 0;
  pathsDowned = 0;
  /** LOST reports sent (receiver) and applied (sender). */
  lossReportsSent = 0;
  lossReportsApplied = 0;
  readonly retransmitCauses: Record<RetransmitCause, number> = { nack: 0, reorder: 0, early: 0, timeout: 0, 'path-down': 0, overdue: 0 };
  /** Datagrams dropped on receipt, by reason. */
  readonly dropped: Record<string, number> = {};

  drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }
}

/** What stats() needs besides the counters, computed by the mechanisms that own it. */
export interface StatsInputs {
  state: SessionStats['state'];
  primary: Path;
  paths: readonly Path[];
  fecRecovered: number;
  targetBitrateBps: number;
  pacingRateBps: number;
  encryption: SessionStats['encryption'];
  lossEstimate: number;
  bond: SessionStats['bond'];
}

export function sessionStats(c: Counters, x: StatsInputs): SessionStats {
  const primary = x.primary;
  const dropped: Record<string, number> = { ...c.dropped };
  return {
    state: x.state,
    srttMs: primary.rtt.smoothed,
    rttVarMs: primary.rtt.rttVar,
    lossBeforeRepair: c.dataPacketsSent ? c.dataPacketsLost / c.dataPacketsSent : 0,
    lossAfterRepair: c.deadlineMessages ? c.deadlineLost / c.deadlineMessages : 0,
    packetsSent: c.packetsSent,
    packetsReceived: c.packetsReceived,
    bytesSent: c.bytesSent,
    bytesReceived: c.bytesReceived,
    retransmits: c.retransmits,
    retransmitsByCause: { ...c.retransmitCauses },
    fecPacketsSent: c.fecPacketsSent,
    fecRecovered: x.fecRecovered,
    targetBitrateBps: x.targetBitrateBps,
    pacingRateBps: x.pacingRateBps,
    mtu: primary.mtu.mtu,
    messagesDropped: c.messagesDropped,
    dropped,
    paths: pathStats(x.paths),
    encryption: x.encryption,
    lossEstimate: x.lossEstimate,
    bond: x.bond,
    copyBytes: c.copyBytes,
    pathsDowned: c.pathsDowned,
    lossReports: { sent: c.lossReportsSent, applied: c.lossReportsApplied },
  };
}

/** Per-path figures; a path's share is its part of the data packets of the last window. */
function pathStats(paths: readonly Path[]): PathStats[] {
  let total = 0;
  for (const p of paths) total += p.dataPacketsLastWindow;
  for (const p of paths) p.share = total ? p.dataPacketsLastWindow / total : 0;
  return paths.map((p) => p.stats());
}
