/**
 * How a session spreads packets over its paths (bonding, ../shared/sources/DIGEST.md section 1):
 * - single: everything on the best path; other paths stand by (NAT rebinding, TCP fallback);
 * - aggregate: each packet on the usable path that can take it now with the lowest RTT; every
 *   path is limited by its own congestion window and pacer, so shares follow capacity;
 * - redundant: every media packet also goes on every other usable path; the receiver keeps
 *   the first copy (its reassembly ignores fragments it already has);
 * - auto: aggregate, plus one copy on a second path of what a viewer misses most: control,
 *   audio, keyframes, and retransmissions that are close to their deadline.
 */
import type { Path } from './Path.js';

export type BondMode = 'single' | 'aggregate' | 'redundant' | 'auto';
export const BOND_MODES: readonly BondMode[] = ['single', 'aggregate', 'redundant', 'auto'];

/**
 * Best single path: among usable paths, the one heard from most recently wins when the others
 * have gone quiet for longer than an RTT plus 100 ms (NAT rebinding, a dead link); otherwise
 * the lowest smoothed RTT.
 */
export function bestPath(paths: readonly Path[]): Path | undefined {
  let freshest: Path | undefined;
  for (const p of paths) {
    if (!p.usable) continue;
    if (!freshest || p.lastReceived > freshest.lastReceived) freshest = p;
  }
  if (!freshest) return undefined;
  let best = freshest;
  for (const p of paths) {
    if (!p.usable || p === freshest) continue;
    if (freshest.lastReceived - p.lastReceived > p.rtt.smoothed + 100) continue;
    if (p.rtt.smoothed < best.rtt.smoothed) best = p;
  }
  return best;
}

/** Room under the path's windows (its controller's and, bonded, its delay budget). */
export function hasWindow(p: Path): boolean {
  return p.bytesInFlight < p.windowCap && p.cc.canSend(p.bytesInFlight);
}

/** Room under the path's windows and pacer for a packet of `bytes` now. */
export function canTake(now: number, p: Path, bytes: number): boolean {
  return p.usable && hasWindow(p) && p.pacer.canSend(now, bytes);
}

/**
 * The path for the next media packet, or undefined when none can take it now. The packet
 * needs `room` bytes of a path's MTU (paths probe their MTUs separately) and `bytes` of its
 * pacer.
 */
export function mediaPath(now: number, mode: BondMode, paths: readonly Path[], bytes: number, room: number): Path | undefined {
  if (mode === 'single' || paths.length === 1) {
    const p = bestPath(paths);
    return p && room <= p.mtu.mtu && canTake(now, p, bytes) ? p : undefined;
  }
  let pick: Path | undefined;
  for (const p of paths) {
    if (room > p.mtu.mtu || !canTake(now, p, bytes)) continue;
    if (!pick || p.rtt.smoothed < pick.rtt.smoothed) pick = p;
  }
  return pick;
}

export interface CopyInfo {
  cls: 'control' | 'audio' | 'video';
  keyframe: boolean;
  /** A retransmission with less than two RTTs left before its deadline. */
  urgent: boolean;
}

/** Paths that get a copy of a media packet sent on `chosen`. */
export function copyPaths(mode: BondMode, paths: readonly Path[], chosen: Path, info: CopyInfo): Path[] {
  if (mode === 'single' || mode === 'aggregate') return [];
  const others = paths.filter((p) => p !== chosen && p.usable);
  if (mode === 'redundant') return others;
  if (info.cls === 'video' && !info.keyframe && !info.urgent) return [];
  let best: Path | undefined;
  for (const p of others) if (!best || p.rtt.smoothed < best.rtt.smoothed) best = p;
  return best ? [best] : [];
}

/**
 * The media bitrate the application may produce: the best path's in single mode; the sum of
 * the paths' in aggregate; in redundant mode the stream must fit the weakest path that carries
 * copies; in auto the sum less what the copies took over the last second.
 */
export function targetBitrate(mode: BondMode, paths: readonly Path[], primary: Path, copyBps: number, minBps: number): number {
  if (mode === 'single' || paths.length === 1) return primary.cc.targetBitrateBps();
  let sum = 0, min = Infinity, n = 0;
  for (const p of paths) {
    if (!p.usable) continue;
    const t = p.cc.targetBitrateBps() * (p.state === 'probing' && p.validated ? 0.5 : 1);
    sum += t;
    min = Math.min(min, t);
    n++;
  }
  if (n === 0) return primary.cc.targetBitrateBps();
  if (mode === 'redundant') return min;
  if (mode === 'auto') return Math.max(minBps, sum - copyBps);
  return sum;
}
