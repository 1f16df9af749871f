/**
 * Which paths carry media and how fast: the set of paths the scheduler may pick from, each
 * path's pacing rate and window, and the rates the session reports (target, drain). The choice
 * of one path per packet is Bonding.ts's (mediaPath, copyPaths); path health (up, down,
 * probing) is PathHealth's, which this only reads through `Path.usable` and `Path.state`.
 */
import type { Path } from '../Path.js';
import { targetBitrate } from '../Bonding.js';
import { rateOf } from '../scheduler/arrival.js';
import type { SessionState } from './SessionState.js';

/** Bonded paths pace at this multiple of their target: above 1 so the target can find more, not 2x as a single path does (that fills the fastest link's queue). */
const PACE_BONDED = 1.1;
/** Queued media beyond this many ms of the paths' summed target counts as a backlog (see setPacing). */
const BACKLOG_MS = 250;
/** A path's window allows the queue its controller tolerates (max(25 ms, base RTT / 4)) plus this, ms. */
const QUEUE_SLACK_MS = 25;
/** The window of one path holds the application's offered rate times this (FEC and headers). */
const OFFERED_HEADROOM = 1.3;
/**
 * Pooled bonds (earliest-arrival): each path paces at this multiple of its estimated rate and
 * holds its base RTT plus this much queue at that rate. The scheduler keeps every link's queue
 * level, so what waits beyond that waits in the sender's queue, where it can still take any
 * link and be skipped by deadline. At 3 x 0.8 Mbit/s, 300 ms, 1%, a 2 Mbit/s stream over 60 s:
 * 40 ms gave video 0.982, 60 ms 0.94, 80 ms 0.95, 150 ms 0.77 (queued packets found lost too
 * late to resend), and pacing at 2x cost 0.01-0.03 against 1.25x.
 */
const POOLED_PACE = 1.25;
/**
 * Of what the pooled paths carry, the media may take this much; the rest is the wire's:
 * headers and tags (~5% at 1.3 kB per packet), FEC, resends of 1-3% loss, and room for a
 * keyframe's burst. At 3 x 0.8 Mbit/s with one link killed, 0.95 of the two left lost a frame
 * and its GOP every ~6 s.
 */
const POOLED_MEDIA_SHARE = 0.85;
const POOLED_QUEUE_MS = 40;
/** A backlog above BACKLOG_MS comes off a pooled target over this long (see pooledTarget). */
const DRAIN_MS = 1000;

export class MediaPaths {
  private backlogged = false;
  private readonly scratch: Path[] = [];
  private offeredSince = -1;
  private offeredBytes = 0;
  private offeredStart = -Infinity;
  private offeredBps = 0;
  /** Copies sent per second over the last whole second (bonded modes count them against the target). */
  private copyWindowBytes = 0;
  private copyWindowStart = 0;
  private copyBps = 0;

  constructor(private readonly s: SessionState) {}

  /** Paths that may carry media now (in a reused array: this runs for every packet). */
  paths(): readonly Path[] {
    const s = this.s;
    const out = this.scratch;
    out.length = 0;
    if (s.bond !== 'single' && s.paths.length > 1) {
      for (const p of s.paths) if (p.usable) out.push(p);
    } else {
      const p = s.primaryPath();
      if (p.usable) out.push(p);
    }
    return out;
  }

  targetBitrateBps(): number {
    const s = this.s;
    if (s.pooled.active) return this.pooledTarget(s.lastPoll);
    return targetBitrate(s.bond, s.paths, s.primaryPath(), this.copyBps, s.minBps);
  }

  /**
   * A pooled bond's media rate: what the scheduler counts on from each usable path (its
   * controller's target where that is lower), less the share that headers, FEC and repairs
   * take. The controllers' targets alone overshoot here: a pooled path's window holds it to
   * its estimated rate, so its controller never sees the queue that would cut it (targets of
   * 1.2-1.6 Mbit/s on 0.8 Mbit/s links), and after a link died their sum asked for 2.3 Mbit/s
   * of the 1.6 left. Less copies, in auto mode.
   */
  private pooledTarget(now: number): number {
    const s = this.s;
    let sum = 0;
    for (const p of s.paths) {
      if (!p.usable) continue;
      // A path that has gone quiet counts for less as its oldest packet grows overdue, and for
      // nothing once it is half way to being taken down: the encoder reacts in about half a
      // second, and waiting for the take-down left 0.3 s more of a dead link's share queued.
      // One that acked nothing at all since its oldest packet came due (Path.stalled) counts
      // for nothing at once: a dead link's share, counted down over 0.3 s, built a backlog
      // the two links left drained for seconds.
      const quiet = p.stalled(now) ? 0 : Math.max(0, 1 - (2 * p.overdueMs(now)) / p.silenceLimit());
      sum += quiet * Math.min(p.cc.targetBitrateBps(), rateOf(now, p));
    }
    if (sum <= 0) return s.primaryPath().cc.targetBitrateBps();
    // A backlog (a link just died: its packets in flight to resend, its share of the frames
    // since) drains only at what the media leaves spare, 15% of the pool: 100 kB took 4 s, and
    // every frame in that time waited half a second, too long for a lost packet's resend. So
    // what waits beyond BACKLOG_MS of the pool's rate comes off the target until it is gone,
    // spread over one second.
    const queued = s.queue.bytes * 8 - (sum * BACKLOG_MS) / 1000;
    const drain = Math.max(0, queued) / (DRAIN_MS / 1000);
    return Math.max(s.minBps, POOLED_MEDIA_SHARE * sum - drain - (s.bond === 'auto' ? this.copyBps : 0));
  }

  /** What the paths that carry media can send together (the queue's drain rate). */
  pacingRateBps(): number {
    const s = this.s;
    if (s.bond === 'single') return s.primaryPath().cc.pacingRateBps();
    let sum = 0;
    for (const p of s.paths) if (p.usable) sum += p.cc.pacingRateBps();
    return sum || s.primaryPath().cc.pacingRateBps();
  }

  /** What the application hands over, per second (a window must not hold back a source the controller has not caught up with). */
  countOffered(now: number, bytes: number): void {
    if (now - this.offeredStart >= 1000) {
      this.offeredBps = (this.offeredBytes * 8000) / Math.max(1000, now - this.offeredStart);
      this.offeredBytes = 0;
      this.offeredStart = now;
    }
    this.offeredBytes += bytes;
    // In the first second of media there is no full window yet: what came so far (a stream's
    // first second is when a backlog behind the initial target forms).
    if (this.offeredSince < 0) this.offeredSince = now;
    if (now - this.offeredSince < 1000) {
      this.offeredBps = Math.max(this.offeredBps, (this.offeredBytes * 8000) / Math.max(500, now - this.offeredStart));
    }
  }

  /** A copy of `bytes` left on a path of its own. */
  countCopy(bytes: number): void {
    this.s.counters.copyBytes += bytes;
    this.copyWindowBytes += bytes;
  }

  /** Rolls the copy-rate window once a second (handleTimeout). */
  rollCopyWindow(now: number): void {
    if (now - this.copyWindowStart >= 1000) {
      this.copyBps = (this.copyWindowBytes * 8000) / Math.max(1000, now - this.copyWindowStart);
      this.copyWindowBytes = 0;
      this.copyWindowStart = now;
    }
  }

  /** Pacing and window per path: single mode keeps the controller's 2x headroom for keyframes; bonded paths pace nearer their share, so the fastest link does not take twice its part. */
  setPacing(now: number): void {
    const s = this.s;
    // A backlog (a link just died, or a keyframe) lets the bonded paths pace at the single
    // path's 2x headroom until it drains; their controllers still watch the queues they make.
    // The backlog counts copies too, against what the mode can carry (redundant: the weakest path).
    const rate = s.bond === 'single' ? 0 : this.targetBitrateBps();
    const waiting = s.queue.bytes + s.copies.bytes();
    const backlogged = rate > 0 && (waiting * 8000) / rate > BACKLOG_MS;
    // Paths that were app-limited do not know their capacity: a new backlog (a link died)
    // makes them probe upward at the startup pace until a queue or loss shows the limit.
    if (backlogged && !this.backlogged) for (const p of s.paths) if (p.usable) p.cc.probe?.();
    this.backlogged = backlogged;
    for (const p of s.paths) {
      if (!p.usable) continue;
      const pace = backlogged ? 2 : PACE_BONDED;
      const pacing = s.bond === 'single' ? p.cc.pacingRateBps() : pace * p.cc.targetBitrateBps() * (readmitting(now, p) ? 0.5 : 1);
      // A path's window holds what it carries (its target or its measured delivery rate,
      // whichever is larger) over its base RTT plus a small queue: pacing may run ahead, but a
      // cellular link's deep buffer is never filled (seconds of delay, then bursts of loss; in
      // an outage the sender's queue sheds video by deadline instead, and audio still leaves).
      const base = Number.isFinite(p.rtt.minRtt) ? p.rtt.minRtt : p.rtt.smoothed;
      // One path: the window also holds what the application offers, with room for FEC and
      // headers. Sized from a 1 Mbit/s initial target it held back a 1.2 Mbit/s source, and the
      // backlog it built was dumped into the bottleneck once startup had doubled the target
      // (300 ms of queue; video shed a second into the stream). (A window of all the pacer lets
      // out in startup did that too, and on a cellular trace filled its deep buffer: audio on
      // time 0.77 -> 0.72.)
      // Never beyond twice what the path is known to carry: a 2 Mbit/s source on a 200 kbit/s
      // link would otherwise fill the link's deep buffer and hold audio behind it for seconds.
      const known = Math.max(p.cc.targetBitrateBps(), p.cc.deliveryRateBps());
      const offered = s.bond === 'single' ? Math.min(OFFERED_HEADROOM * this.offeredBps, 2 * known) : 0;
      const carries = Math.max(known, offered);
      // The queue budget matches the controller's overuse threshold: a window that allowed a
      // deeper standing queue made the controller cut again and again, far below capacity.
      const budget = Math.max(25, base / 4) + QUEUE_SLACK_MS;
      p.windowCap = Math.max(4 * p.mtu.mtu, (carries / 8) * ((base + budget) / 1000));
      if (s.pooled.active) {
        // The rate the scheduler counts on, not the controller's target: a delay controller
        // reads each keyframe's queue as congestion and settles far below what the link carries.
        const est = p.rateEstimateBps(now) * (readmitting(now, p) ? 0.5 : 1);
        p.windowCap = Math.max(4 * p.mtu.mtu, (est / 8) * ((base + POOLED_QUEUE_MS) / 1000));
        p.pacer.setRate(now, Math.max(pacing, POOLED_PACE * est), p.mtu.mtu);
        continue;
      }
      p.pacer.setRate(now, pacing, p.mtu.mtu);
    }
  }
}

/** Re-admitted after an outage less than two seconds ago: half weight (a new link is not). */
function readmitting(now: number, p: Path): boolean {
  return p.state === 'probing' && now < p.readmittedAt + 2000;
}
