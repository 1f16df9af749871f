/** A peer's counters, where its playback figures go, and the reasons it reports a bad neighbour. */

/** Where playback figures go (the simulator's ledger, a player's stats panel). */
export interface PlaySink {
  started(ms: number): void;
  played(delayMs: number, onTime: boolean, bytes: number): void;
  missed(): void;
  /** A real player's feed: each slice handed to the decoder, in seq order (gaps are skipped slices). */
  decode?(seq: number, payload: Uint8Array): void;
}

/** Reasons in BadPeer reports. */
export const enum Bad {
  Forged = 1,
  Lies = 2,
  Flood = 3,
  Garbage = 4,
}

export class PeerStats {
  played = 0;
  onTime = 0;
  late = 0;
  missed = 0;
  pushed = 0;
  pulled = 0;
  compensated = 0;
  duplicates = 0;
  forged = 0;
  outOfWindow = 0;
  unsolicited = 0;
  floodDropped = 0;
  lies = 0;
  wireErrors = 0;
  served = 0;
  compensationAsked = 0;
  compensationRefused = 0;
  droppedNeighbours = 0;
}
