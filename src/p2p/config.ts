/**
 * The P2P rules and their defaults, in one place so the simulator, the tests and a real peer
 * run the same numbers. Figures marked (source) are the fifth source design's.
 */
export interface P2pConfig {
  /** Stream bitrate, kbit/s: what a push slot costs a super node. */
  bitrateKbps: number;
  /** Slices a second (video frames; 30 fps). */
  fps: number;
  /** Substreams: slice seq % substreams. A peer takes each from a different super node when it can. */
  substreams: number;
  /** Played slices kept for neighbours, ms (source: 3 s). */
  keepPlayedMs: number;
  /** Neighbour table limit (source: ~40) and the count a peer asks the tracker for. */
  maxNeighbours: number;
  targetNeighbours: number;
  /** Push stage: slack over the measured push delay before pulling (source: ~100 ms jitter). */
  pushJitterMs: number;
  /** Pull tries from neighbours (source: 3, one RTT each), then compensation tries from the edge (source: 4). */
  pullTries: number;
  compensationTries: number;
  /** Capture-to-play delay a peer aims at and the most it lets it grow to by stalling. */
  targetDelayMs: number;
  maxDelayMs: number;
  /** Longest a player waits for one missing slice before skipping it. */
  maxStallMs: number;
  /** Buffer-map gossip period and report period, ms. */
  gossipMs: number;
  reportMs: number;
  /** Share of a super node's upload its push slots may take (the rest serves pulls). */
  pushShare: number;
  /** Children a super node pushes one substream to at most (a keyframe goes out this many times in a row). */
  maxChildrenPerSubstream: number;
  /** Requests a neighbour may send a second (and burst) before the rest are dropped as a flood. */
  requestRate: number;
  requestBurst: number;
  /** Compensation budget per peer: slices a second and the burst a joiner may use at once. */
  compensationRate: number;
  compensationBurst: number;
  /** A super node is demoted when its children's on-time score (EWMA) falls below this after this many reports. */
  demoteBelow: number;
  demoteAfterReports: number;
  /**
   * A peer the edge feeds directly is moved to a super node with a free slot at its next report
   * (Tracker.offTheEdge). Off by default: it cuts the edge's share in small swarms (20 peers:
   * 0.41 -> 0.26) at a cost in continuity (300 peers: 0.9972 -> 0.9935); docs/benchmarks.md.
   */
  moveOffEdge: boolean;
}

export const DEFAULT_CONFIG: P2pConfig = {
  bitrateKbps: 1000,
  fps: 30,
  substreams: 8,
  keepPlayedMs: 3000,
  maxNeighbours: 40,
  targetNeighbours: 12,
  pushJitterMs: 100,
  pullTries: 3,
  compensationTries: 4,
  targetDelayMs: 800,
  maxDelayMs: 2000,
  maxStallMs: 300,
  gossipMs: 1000,
  reportMs: 5000,
  pushShare: 0.85,
  maxChildrenPerSubstream: 12,
  requestRate: 90,
  requestBurst: 120,
  compensationRate: 4,
  compensationBurst: 45,
  demoteBelow: 0.4,
  demoteAfterReports: 10,
  moveOffEdge: false,
};

/** Push slots (one child for one substream) an upload of `uploadKbps` offers. */
export function pushSlots(c: P2pConfig, uploadKbps: number): number {
  return Math.floor((uploadKbps * c.pushShare) / (c.bitrateKbps / c.substreams));
}
