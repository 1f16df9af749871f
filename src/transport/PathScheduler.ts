/**
 * Chooses the path for each packet. The bonding work adds aggregate and redundant policies
 * behind this interface; the default sends everything on the single best path.
 */
import type { Path } from './Path.js';

export type PacketKind = 'data' | 'control' | 'ack' | 'fec';

export interface PathScheduler {
  readonly name: string;
  /** The path for the next packet of this kind, or undefined to send nothing now. `paths` is never empty. */
  choose(now: number, paths: readonly Path[], kind: PacketKind): Path | undefined;
  /** Paths a redundant policy wants a copy on, besides the chosen one (default: none). */
  duplicates?(now: number, paths: readonly Path[], chosen: Path, kind: PacketKind): readonly Path[];
}

/**
 * Best single path: among validated paths that are not down, the one heard from most recently
 * wins when the others have gone quiet for longer than an RTT plus 100 ms (NAT rebinding,
 * a dead link); otherwise the lowest smoothed RTT.
 */
export class BestPathScheduler implements PathScheduler {
  readonly name = 'best-path';
  choose(_now: number, paths: readonly Path[]): Path | undefined {
    let freshest: Path | undefined;
    for (const p of paths) {
      if (!p.validated || p.state === 'down') continue;
      if (!freshest || p.lastReceived > freshest.lastReceived) freshest = p;
    }
    if (!freshest) return undefined;
    let best = freshest;
    for (const p of paths) {
      if (!p.validated || p.state === 'down' || p === freshest) continue;
      const quiet = freshest.lastReceived - p.lastReceived;
      if (quiet > p.rtt.smoothed + 100) continue;
      if (p.rtt.smoothed < best.rtt.smoothed) best = p;
    }
    return best;
  }
}
