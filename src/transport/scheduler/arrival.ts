/**
 * When a byte sent now on a path would arrive: the path's queue model ahead of it, drained at
 * its estimated rate, plus its base one-way delay. "Bytes queued on that path / its estimated
 * rate + its one-way delay" (issue 15): the one rule both the packet placement and the
 * deadline skips use, so N links are scheduled as one pipe of their summed rate.
 */
import type { Path } from '../Path.js';
import { hasWindow } from '../Bonding.js';

/** A path re-admitted after an outage counts for half its rate this long (Session's probing state). */
const READMIT_MS = 2000;

/** bit/s the scheduler counts on from `p` now (half while it is being re-admitted). */
export function rateOf(now: number, p: Path): number {
  const r = p.rateEstimateBps(now);
  return p.state === 'probing' && p.validated && now < p.readmittedAt + READMIT_MS ? r / 2 : r;
}

/** Half the minimum RTT (queueing is counted apart), or half the smoothed RTT before a sample. */
export function baseOneWayMs(p: Path): number {
  const r = Number.isFinite(p.rtt.minRtt) ? p.rtt.minRtt : p.rtt.smoothed;
  return r > 0 ? r / 2 : 0;
}

/**
 * ms of queue ahead of a byte sent now: the model's (what this end sent, drained at the rate),
 * or, when more, what the newest RTT sample showed above the minimum: a rate dip the model
 * cannot know of yet shows there first, and the path then gets less until it drains. Or, when
 * more again, how overdue the path's oldest packet out is: a link that stalls or has died
 * gives no samples at all, and the longer it is quiet the less it is given, well before it is
 * silent long enough to be taken down.
 */
export function queueAheadMs(now: number, p: Path): number {
  const model = (p.schedQueueBytes(now) * 8000) / rateOf(now, p);
  const rtt = p.rtt;
  const seen = rtt.sampled && Number.isFinite(rtt.minRtt) ? Math.max(0, rtt.latest - rtt.minRtt) : 0;
  return Math.max(model, seen, p.overdueMs(now));
}

/** When the last of `bytes` sent on `p` at `start` (>= now) would arrive. */
export function arrivalMs(now: number, p: Path, bytes: number, start = now): number {
  return Math.max(now, start) + queueAheadMs(now, p) + (bytes * 8000) / rateOf(now, p) + baseOneWayMs(p);
}

/**
 * When the last of `bytes` would arrive spread over `paths` at best (water-filling): path p
 * starts delivering at a_p = now + its queue + its one-way delay and then carries its rate; the
 * answer is the T at which the paths started by T have carried `bytes` together. Infinity
 * without paths.
 */
export function pooledDelivery(now: number, paths: readonly Path[], bytes: number): number {
  const starts: Array<{ at: number; perMs: number }> = [];
  for (const p of paths) {
    if (!p.usable) continue;
    starts.push({ at: now + queueAheadMs(now, p) + baseOneWayMs(p), perMs: rateOf(now, p) / 8000 });
  }
  if (!starts.length) return Infinity;
  starts.sort((a, b) => a.at - b.at);
  let perMs = 0, weighted = 0;
  for (let i = 0; i < starts.length; i++) {
    perMs += starts[i]!.perMs;
    weighted += starts[i]!.perMs * starts[i]!.at;
    // With paths 0..i carrying: sum perMs_p * (T - at_p) = bytes.
    const t = (Math.max(0, bytes) + weighted) / perMs;
    const next = i + 1 < starts.length ? starts[i + 1]!.at : Infinity;
    if (t <= next) return t;
  }
  return Infinity;
}

/** The earliest time any path with window room and MTU for `room` lets a full packet out (the old rule's wake-up). */
export function anyPacerTime(now: number, paths: readonly Path[], room: number): number {
  let t = Infinity;
  for (const p of paths) {
    if (!p.usable || room > p.mtu.mtu || !hasWindow(p)) continue;
    t = Math.min(t, p.pacer.nextSendTime(now, p.mtu.mtu + 60));
  }
  return t;
}
