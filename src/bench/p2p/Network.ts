/**
 * The simulated Internet between the edge and the peers: RTT and loss by region pair (plus a
 * penalty across ISPs), each peer's upload as a FIFO of its own capacity, 20% of peers that
 * accept no direct connections (two of those never reach each other), and the peer population
 * the issue states: 30% upload >= 2x the stream, 40% about 1x, 30% almost nothing.
 */
import { Prng } from '../../emulator/Prng.js';

export const REGIONS = 4;
export const ISPS = 3;

/** Round trip between regions, ms (same region 30, neighbouring ~80, far ~160). */
const REGION_RTT = [
  [30, 80, 120, 160],
  [80, 30, 90, 140],
  [120, 90, 30, 100],
  [160, 140, 100, 30],
];
/** Round trip from the edge to each region. */
const EDGE_RTT = [40, 50, 60, 70];
const CROSS_ISP_RTT = 20;
const LOSS_SAME = 0.005;
const LOSS_FAR = 0.015;
const CROSS_ISP_LOSS = 0.005;

export interface Host {
  region: number;
  isp: number;
  uploadKbps: number;
  reachable: boolean;
  /** When its upload FIFO is free again, ms. */
  freeAt: number;
}

/** Draws one viewer from the stated distribution. */
export function drawHost(rng: Prng, bitrateKbps: number): Host {
  const u = rng.next();
  const x = u < 0.3 ? 2 + 2 * rng.next() : u < 0.7 ? 0.8 + 0.4 * rng.next() : 0.2 * rng.next();
  return {
    region: Math.floor(rng.next() * REGIONS),
    isp: Math.floor(rng.next() * ISPS),
    uploadKbps: Math.round(x * bitrateKbps),
    reachable: rng.next() >= 0.2,
    freeAt: 0,
  };
}

export function rttMs(a: Host, b: Host): number {
  return REGION_RTT[a.region]![b.region]! + (a.isp === b.isp ? 0 : CROSS_ISP_RTT);
}

export function edgeRttMs(a: Host): number {
  return EDGE_RTT[a.region]!;
}

export function lossRate(a: Host, b: Host): number {
  return (a.region === b.region ? LOSS_SAME : LOSS_FAR) + (a.isp === b.isp ? 0 : CROSS_ISP_LOSS);
}

export function canConnect(a: Host, b: Host): boolean {
  return a.reachable || b.reachable;
}

/** Upload queue past which a data channel's sender drops (its buffer is full), ms. */
export const MAX_BACKLOG_MS = 2000;

/**
 * Puts `bytes` on `h`'s upload at `now`: returns when the last bit leaves, or -1 when the queue
 * is too long and the message is dropped.
 */
export function transmit(h: Host, now: number, bytes: number): number {
  const start = Math.max(now, h.freeAt);
  if (start - now > MAX_BACKLOG_MS) return -1;
  // A host with almost no upload still sends its few control bytes: 16 kbit/s at least.
  h.freeAt = start + (bytes * 8) / Math.max(16, h.uploadKbps);
  return h.freeAt;
}
