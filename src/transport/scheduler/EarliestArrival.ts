/**
 * Pooling (issue 15, item 2): each media packet, repair or copy goes on the path expected to
 * deliver it first: the time its pacer lets it out, plus the bytes queued on that path over
 * its estimated rate, plus its one-way delay. A fast path with a queue loses to an idle slow
 * one exactly when the slow one delivers sooner, so the links fill in proportion to their
 * rates and N links of capacity C carry what one link of N x C carries. When the path that
 * would deliver first is held by its pacer, the packet waits for it rather than taking a later
 * path now (the session wakes at `nextSendTime`).
 *
 * Single mode (one path chosen for everything) is left to the old rule.
 */
import type { Path } from '../Path.js';
import { hasWindow, mediaPath, type BondMode, type CopyInfo } from '../Bonding.js';
import type { Scheduler } from './Scheduler.js';
import { anyPacerTime, arrivalMs, pooledDelivery } from './arrival.js';

export class EarliestArrivalScheduler implements Scheduler {
  readonly name = 'earliest-arrival' as const;

  pick(now: number, mode: BondMode, paths: readonly Path[], bytes: number, room: number): Path | undefined {
    if (mode === 'single' || paths.length === 1) return mediaPath(now, mode, paths, bytes, room);
    const best = this.first(now, paths, bytes, room);
    return best && best.start <= now ? best.path : undefined;
  }

  /** When the path that would deliver a packet first lets it out (for the session's wake-up). */
  nextSendTime(now: number, mode: BondMode, paths: readonly Path[], bytes: number, room: number): number {
    if (mode === 'single' || paths.length === 1) return anyPacerTime(now, paths, room);
    return this.first(now, paths, bytes, room)?.start ?? Infinity;
  }

  copyPaths(now: number, mode: BondMode, paths: readonly Path[], chosen: Path, info: CopyInfo): Path[] {
    if (mode === 'single' || mode === 'aggregate') return [];
    const others: Path[] = [];
    for (const p of paths) if (p !== chosen && p.usable) others.push(p);
    if (mode === 'redundant') return others;
    if (info.cls === 'video' && !info.keyframe && !info.urgent) return [];
    // The copy goes where it would arrive first among the other paths (its window may be full
    // now: the copy queue waits for it).
    let best: Path | undefined, bestT = Infinity;
    for (const p of others) {
      const t = arrivalMs(now, p, 1200, p.pacer.nextSendTime(now, 1200));
      if (t < bestT) [best, bestT] = [p, t];
    }
    return best ? [best] : [];
  }

  earliestDelivery(now: number, paths: readonly Path[], bytes: number): number {
    return pooledDelivery(now, paths, bytes);
  }

  private first(now: number, paths: readonly Path[], bytes: number, room: number): { path: Path; start: number } | undefined {
    let best: Path | undefined, bestT = Infinity, bestStart = Infinity;
    for (const p of paths) {
      if (!p.usable || room > p.mtu.mtu || !hasWindow(p)) continue;
      const start = p.pacer.nextSendTime(now, bytes);
      const t = arrivalMs(now, p, bytes, start);
      if (t < bestT) [best, bestT, bestStart] = [p, t, start];
    }
    return best ? { path: best, start: bestStart } : undefined;
  }
}
