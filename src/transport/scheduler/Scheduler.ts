/**
 * The multipath scheduler's narrow interface (after quic-go's SendAlgorithm): the session asks
 * which path the next media packet goes on, which paths get copies of it, and when a message
 * of so many bytes would be delivered at the earliest (to skip frames no path can deliver by
 * their deadline). Two rules sit behind it so a bench can compare them in the same run:
 * `lowest-rtt` (the rule bonding started with) and `earliest-arrival` (pooling).
 *
 * Calling rules: every method takes `now` and reads path state only (RTT, controller rates,
 * window, pacer, the path's queue model); none changes a path. `paths` are the paths that may
 * carry media now (usable ones); a scheduler still skips a path whose MTU is too small.
 */
import type { Path } from '../Path.js';
import type { BondMode, CopyInfo } from '../Bonding.js';

export interface Scheduler {
  readonly name: SchedulerName;
  /**
   * The path for a media packet of `bytes` (what its pacer is charged) that needs `room`
   * bytes of a path's MTU, or undefined: wait (the session wakes at the pacers' next times).
   */
  pick(now: number, mode: BondMode, paths: readonly Path[], bytes: number, room: number): Path | undefined;
  /**
   * When `pick` may first return a path for such a packet (the session's wake-up), or Infinity
   * when every window is full (an ack wakes the session then).
   */
  nextSendTime(now: number, mode: BondMode, paths: readonly Path[], bytes: number, room: number): number;
  /** Paths that get a copy of a media packet sent on `chosen`. */
  copyPaths(now: number, mode: BondMode, paths: readonly Path[], chosen: Path, info: CopyInfo): Path[];
  /**
   * When the last of `bytes` more would arrive if they left now, spread over `paths` as well as
   * the rule can (Infinity when no path carries anything). Used at a message's first fragment:
   * a frame that cannot arrive by its deadline is not sent.
   */
  earliestDelivery(now: number, paths: readonly Path[], bytes: number): number;
}

export type SchedulerName = 'lowest-rtt' | 'earliest-arrival';
export const SCHEDULERS: readonly SchedulerName[] = ['lowest-rtt', 'earliest-arrival'];
