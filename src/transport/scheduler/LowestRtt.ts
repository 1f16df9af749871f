/**
 * The rule bonding started with (Bonding.ts): each packet on the usable path with room under
 * its window and pacer now that has the lowest smoothed RTT; copies on the lowest-RTT other
 * path. Kept so `earliest-arrival` can be compared against it in the same bench.
 */
import type { Path } from '../Path.js';
import { copyPaths, mediaPath, type BondMode, type CopyInfo } from '../Bonding.js';
import type { Scheduler } from './Scheduler.js';
import { anyPacerTime, pooledDelivery } from './arrival.js';

export class LowestRttScheduler implements Scheduler {
  readonly name = 'lowest-rtt' as const;

  pick(now: number, mode: BondMode, paths: readonly Path[], bytes: number, room: number): Path | undefined {
    return mediaPath(now, mode, paths, bytes, room);
  }

  nextSendTime(now: number, _mode: BondMode, paths: readonly Path[], _bytes: number, room: number): number {
    return anyPacerTime(now, paths, room);
  }

  copyPaths(_now: number, mode: BondMode, paths: readonly Path[], chosen: Path, info: CopyInfo): Path[] {
    return copyPaths(mode, paths, chosen, info);
  }

  earliestDelivery(now: number, paths: readonly Path[], bytes: number): number {
    return pooledDelivery(now, paths, bytes);
  }
}
