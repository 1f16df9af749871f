/** What the P2P endpoint refused, dropped and carried, across its streams (GET /metrics). */
export class P2pCounters {
  /** Upgrades refused, by reason (auth, not live, off, full). */
  readonly refused: Record<string, number> = {};
  /** Peers closed by a limit, by reason (flood, garbage, too slow, oversized). */
  readonly closed: Record<string, number> = {};
  peersOpen = 0;
  joins = 0;
  /** Messages over a peer's rate, dropped unread. */
  rateDropped = 0;
  /** Binary messages that did not decode, or that a peer may not send the edge; bad signals. */
  garbage = 0;
  signalsRelayed = 0;
  /** Signals to a peer that is not (or no longer) in the stream. */
  signalsDropped = 0;
  /** Core messages addressed to a peer that had already gone. */
  noRoute = 0;
  /** Frames too big for a slice (MAX_SLICE_BYTES), left to edge viewers. */
  framesTooBig = 0;
  /** Slice payload bytes the edge sent to peers (push and compensation). */
  sliceBytesOut = 0;
  bytesOut = 0;
  bytesIn = 0;

  refuse(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }

  close(reason: string): void {
    this.closed[reason] = (this.closed[reason] ?? 0) + 1;
  }
}
