/**
 * A controller that follows what the path delivers, for cellular uplinks whose capacity moves
 * by 2x within a second. The delay/loss controller read the queue behind each of our own
 * keyframes and every capacity dip as congestion and settled at a tenth of a trace's capacity;
 * this one measures the capacity and keeps a bounded queue on top of it:
 * - Capacity: delivery-rate samples taken while the bottleneck holds a queue (the sample's RTT
 *   above the minimum) are what the link can deliver; samples taken with no queue are floors
 *   (DeliveryRateFilter). A keyframe's queue is thus a measurement, not a signal to back off.
 * - Queue: the standing queue is the RTT's minimum over the last few hundred ms less the
 *   path's minimum RTT; a keyframe's queue drains within that window and does not count.
 * - Target: the capacity forecast, scaled up while the standing queue is under its target and
 *   down while over it, so the queue settles near `queueTargetMs` (far under a live deadline)
 *   and a backlog in the bottleneck drains over about a second.
 * - Random loss alone does not cut the rate (the delivery rate already leaves the lost bytes
 *   out; FEC and resends repair them). Loss of a fifth or more of what was sent makes samples
 *   count as measurements, so a policer that drops without queueing is still followed.
 * - Startup: the target doubles per RTT until the standing queue shows the link is full.
 * Everything the peer reports is bounded before use and counted in `anomalies`.
 */
import type { AckSample, SendAlgorithm } from './SendAlgorithm.js';
import { DeliveryRateFilter } from './DeliveryRateFilter.js';
import { RateHistory } from './RateHistory.js';
import { WindowedMin } from './WindowedMin.js';
import { RatePercentile } from './RatePercentile.js';

export interface CapacityOptions {
  initialBps?: number;
  minBps?: number;
  maxBps?: number;
  /** Standing queue the target settles at, ms (default 60). */
  queueTargetMs?: number;
}

/** Time constant of the capacity mean, ms: the encoder follows in ~0.5 s, a finer track is noise. */
const CAPACITY_TAU_MS = 400;
/** The capacity forecast is the mean less this many deviations of the samples. */
const FORECAST_Z = 0.25;
/**
 * What the link did before an outage is remembered this long, ms (busy samples and targets;
 * an outage's first ACK comes after it ends, and a window shorter than the outage had
 * forgotten everything by then), and this many busy samples make their median count.
 */
const MEMORY_MS = 10_000;
const MEMORY_MIN_SAMPLES = 8;
/** Minimum RTT window: long enough to outlast a standing queue, short enough for a handover. */
const MIN_RTT_WINDOW_MS = 20_000;
/** Heavy loss (a policer, a full buffer) rather than random loss. */
const HEAVY_LOSS = 0.2;
/** How far above the capacity estimate the target may reach while the queue is short. */
const MAX_HEADROOM = 0.15;
/**
 * How far the headroom widens while nothing pushes back. The loop (encoder reaction, RTT,
 * standing window) is about a second, so an overshoot by a fraction x of the capacity builds
 * about x seconds of queue before the cut takes effect: at 2x (the old widest) a second of
 * queue, past any live deadline; 0.3 stays within an 800 ms deadline's budget.
 */
const WIDEST_HEADROOM = 0.3;
/**
 * Share of a measured capacity the media target takes while the link was busy lately. An
 * encoder follows a new target half a second late and a keyframe is 8 P frames at once, so a
 * target at the capacity meets every dip of a cellular link with a queue that outlives the
 * deadline, and the GOP behind it is lost. Over six cellular traces (1 Mbit/s UMTS to 13 Mbit/s
 * LTE, 300 ms, 1%, 800 ms) 0.7 kept 2-13 points more video on time than 1 for 11-22% less
 * capacity used (docs/benchmarks.md). Outside busy periods the target probes above the
 * estimate as before (at 0.7 throughout, the estimate could only fall: 0.23 of an LTE trace used).
 */
const BUSY_UTILIZATION = 0.7;
/** A window-limited sender reads as a queue this far over its target, ms. */
const BLOCKED_QUEUE_MS = 100;
/**
 * A window held shut longer than this is a backlog, ms. 0: on a constant 2 Mbit/s link with
 * a 4 Mbit/s source, 50 and 150 ms let the sender's queue grow (video on time 0.89 -> 0.50).
 */
const BLOCKED_HOLD_MS = 0;
/** What an encoder takes to follow a new target, ms (a guess: the controller cannot see it). */
const ENCODER_REACTION_MS = 500;
/**
 * A standing queue this deep (ms, or twice the base RTT if more) is an outage or a collapse of
 * the link, not the controller's own overshoot (which stays within a few hundred ms).
 */
const DEEP_QUEUE_MS = 500;
/** After a deep queue drains, the target may go back to the capacity seen before it for this long, ms. */
const RESTORE_MS = 3000;
/** RTTs above this are not believed (a peer's garbage, not a path). */
const MAX_RTT_MS = 30_000;

export interface CapacityAnomalies {
  /** ACKs that claimed more bytes than were ever sent. */
  ackedUnsent: number;
  /** Delivery-rate samples that were not a positive finite number, or beyond any plausible rate. */
  badRate: number;
  /** RTT samples that were negative or absurd. */
  badRtt: number;
  /** Calls with a time earlier than the previous one. */
  clockBackwards: number;
  /** Loss fractions outside [0, 1]. */
  badLoss: number;
}

export class CapacityController implements SendAlgorithm {
  readonly name = 'capacity';
  readonly anomalies: CapacityAnomalies = { ackedUnsent: 0, badRate: 0, badRtt: 0, clockBackwards: 0, badLoss: 0 };
  private readonly capacity = new DeliveryRateFilter(CAPACITY_TAU_MS);
  /** Busy samples of the last seconds: their median is the capacity an outage interrupted. */
  private readonly busySamples = new RatePercentile(MEMORY_MS);
  private readonly sent = new RateHistory();
  private readonly acks = new RateHistory();
  private readonly minRtt = new WindowedMin(MIN_RTT_WINDOW_MS);
  private readonly standing = new WindowedMin(500);
  /** Best delivery seen in the last 3 s, highest target of the last 10 s (negated: max filters). */
  private readonly delivery = new WindowedMin(3000);
  private readonly targets = new WindowedMin(MEMORY_MS);
  private target: number;
  private readonly min: number;
  private readonly max: number;
  private readonly queueTarget: number;
  private startup = true;
  private srtt = 300;
  private base = NaN;
  private queue = 0;
  private lastNow = -Infinity;
  private lastTargetAt = -1;
  private sentTotal = 0;
  private ackedTotal = 0;
  /** Share of bytes lost over about the last second (countLoss). */
  private loss = 0;
  private feedbackLoss = 0;
  private lastLossAt = -1;

  constructor(o: CapacityOptions = {}) {
    this.min = o.minBps ?? 100_000;
    this.max = o.maxBps ?? 50_000_000;
    this.target = Math.min(this.max, Math.max(this.min, o.initialBps ?? 1_000_000));
    this.queueTarget = o.queueTargetMs ?? 60;
  }

  /** A monotonic `now`: a time earlier than the last one seen is taken as the last one. */
  private clock(now: number): number {
    if (!Number.isFinite(now)) now = this.lastNow;
    if (now < this.lastNow) {
      this.anomalies.clockBackwards++;
      return this.lastNow;
    }
    this.lastNow = now;
    return now;
  }

  onPacketSent(now: number, bytes: number, _bytesInFlight?: number): void {
    now = this.clock(now);
    if (bytes > 0 && Number.isFinite(bytes)) {
      this.sentTotal += bytes;
      this.sent.add(now, bytes);
    }
  }

  onAck(nowIn: number, s: AckSample): void {
    const now = this.clock(nowIn);
    let acked = Number.isFinite(s.ackedBytes) && s.ackedBytes > 0 ? s.ackedBytes : 0;
    if (this.ackedTotal + acked > this.sentTotal) {
      this.anomalies.ackedUnsent++;
      acked = Math.max(0, this.sentTotal - this.ackedTotal);
    }
    this.ackedTotal += acked;
    this.countLoss(now, acked, 0);
    this.acks.add(now, acked);

    const rtt = s.rttMs;
    if (Number.isFinite(rtt)) {
      if (rtt > 0 && rtt < MAX_RTT_MS) {
        this.minRtt.add(now, rtt);
        this.standing.add(now, rtt);
      } else this.anomalies.badRtt++;
    }
    if (Number.isFinite(s.srttMs) && s.srttMs > 0 && s.srttMs < MAX_RTT_MS) this.srtt = s.srttMs;
    const base = this.minRtt.get(now);
    this.base = Number.isFinite(base) ? base : NaN;
    // The standing queue: RTT's minimum over a window that outlasts a keyframe's queue.
    this.standing.setWindow(this.standingWindow);
    const standing = this.standing.get(now);
    this.queue = Number.isFinite(base) && Number.isFinite(standing) ? Math.max(0, standing - base) : 0;

    // A standing queue means the bottleneck was busy for the whole standing window, so what
    // the ACKs of the last part of it report is what the link delivers now. Without one the
    // link kept up with what was offered: delivery is a floor of its capacity. (Per packet, a
    // trace's gaps of tens of ms delay single packets on a link far from full; read that way
    // nearly every measurement fell in a gap, and the estimate sat at half the capacity.)
    const rttBase = Number.isFinite(base) ? base : this.srtt;
    const busy = this.queue > Math.max(10, rttBase / 10) || this.lossNow() > HEAVY_LOSS;
    const span = Math.max(100, Math.min(rttBase, this.standingWindow));
    const delivered = this.acks.between(now - span, now);
    const own = this.bounded(delivered > 0 ? (delivered * 8000) / span : NaN);
    const bbr = this.bounded(s.deliveryRateBps);
    if (busy && own > 0) {
      this.capacity.addBusy(now, own);
      this.busySamples.add(now, own);
    }
    const seen = Math.max(own, bbr);
    if (seen > 0) {
      if (!busy) this.capacity.addFloor(now, seen);
      this.delivery.add(now, -seen);
    }
    this.update(now, busy);
  }

  private get standingWindow(): number {
    return Math.max(300, Math.min(1000, 1.5 * this.srtt));
  }

  /**
   * A bounded rate sample: no more than four times what is already known to be carried (or
   * the configured maximum). A terabit claim is counted and clamped, not believed.
   */
  private bounded(r: number): number {
    if (Number.isNaN(r)) return 0;
    if (!(r > 0) || !Number.isFinite(r)) {
      this.anomalies.badRate++;
      return 0;
    }
    const cap = Math.min(4 * this.max, 4 * Math.max(this.capacity.rate, this.target));
    if (r > cap) {
      this.anomalies.badRate++;
      r = cap;
    }
    return r;
  }

  /**
   * The target follows the standing queue: under its target it grows (doubling per RTT in
   * startup or when far under the capacity seen in the last seconds, by up to a quarter per
   * RTT otherwise); over it, the target falls at once to the measured capacity less what
   * drains the excess over about a second. Only a queue that outlasts the standing window cuts:
   * a keyframe's queue and a trace's short gaps do not.
   */
  private update(now: number, busy: boolean): void {
    const dt = this.lastTargetAt < 0 ? 0 : Math.min(1000, now - this.lastTargetAt);
    this.lastTargetAt = now;
    // The pace of change is the base RTT plus the standing queue: SRTT still remembers an
    // outage's seconds-long RTTs, and paced by it the target stayed at the minimum for 9 s.
    const rtt = Math.max(20, Number.isFinite(this.base) ? this.base + this.queue : this.srtt);
    this.measureOverhead(now);
    const q = this.queue;
    const qt = this.queueTarget;
    this.watchOutage(now, q, qt, Number.isFinite(this.base) ? this.base : this.srtt);
    if (this.startup && q > qt / 2 && this.capacity.known) this.startup = false;
    let next: number;
    if (this.startup || !this.capacity.known) next = this.target * 2 ** (dt / rtt);
    else {
      // Above the estimate while the queue is under its target (so a path that was
      // application-limited finds its room), below it while over (the excess drains over the
      // horizon). The rise is paced by the whole loop: an RTT, the standing window and the
      // encoder's reaction (about half a second), or it overshoots by the loop's growth.
      const horizon = Math.max(1000, 2 * rtt);
      // A window that held the sender back within the last RTT counts as a queue over target.
      const held = now - this.blockedAt < rtt ? qt + BLOCKED_QUEUE_MS : 0;
      // Headroom widens (doubling each loop, up to 2x) while nothing pushes back, and closes
      // again at the first standing queue or held window: after an outage, or below a link
      // that grew, the target must not crawl up by 15% per measurement.
      const pushed = q > qt / 2 || held > 0;
      const loop = rtt + this.standingWindow + ENCODER_REACTION_MS;
      this.headroom = pushed ? MAX_HEADROOM : Math.min(WIDEST_HEADROOM, this.headroom * 2 ** (dt / loop));
      // While the link was busy within the last loop the estimate is what it delivers: no
      // headroom above it. Headroom is for finding what a link that kept up can carry.
      const room = now - this.capacity.busyAt < loop ? 0 : this.headroom;
      const gain = Math.min(1 + room, Math.max(0.5, 1 + (qt - Math.max(q, held)) / horizon));
      // The estimate is of wire bytes; the target is media. What the wire adds (headers,
      // FEC, resends) is measured as wire sent per target bit, so that media plus its repair
      // fits the link: with the target at the capacity the wire needed 15% more, the
      // sender's queue grew behind a full window and video was shed.
      next = (this.capacity.forecast(FORECAST_Z) * gain * (room === 0 ? BUSY_UTILIZATION : 1)) / this.wirePerMedia;
      next = Math.min(next, this.target * 2 ** (dt / loop));
    }
    // Never far above what was delivered lately: an application-limited sender would
    // otherwise run its target away from anything measured.
    const seen = -this.delivery.get(now);
    const restoring = now < this.restoreUntil;
    if (Number.isFinite(seen)) next = Math.min(next, Math.max(2 * seen, this.min, restoring ? this.restoreBps : 0));
    // Back from an outage: up to what the link carried before it, then the usual control (the
    // drain of the outage's backlog reads as a burst of delivery that startup would chase).
    if (restoring && this.startup && next >= this.restoreBps) {
      next = this.restoreBps;
      this.startup = false;
    }
    this.target = Math.min(this.max, Math.max(this.min, next));
    this.targets.add(now, -this.target);
    this.askedBits += this.target * (dt / 1000);
  }

  /**
   * An outage (a cellular link delivering nothing for seconds) shows as a standing queue of
   * seconds: the packets sent before it wait in the bottleneck. The capacity the link had
   * before is kept, and when the queue has drained the target goes back towards it at the
   * startup pace (doubling per RTT, no longer held to twice the little delivered during the
   * outage). Following floors up from the outage's minimum took 15 s to get back to a
   * capacity the link offered again 1 s after it (ATT-LTE-driving-2016 at 25 s). A link that
   * comes back slower shows a queue, which ends the startup as usual.
   */
  private watchOutage(now: number, q: number, qt: number, baseRtt: number): void {
    if (!this.deep && q > Math.max(DEEP_QUEUE_MS, 2 * baseRtt)) {
      this.deep = true;
      // What the link delivered in the last seconds, by the median of its busy samples (the
      // outage's own, fewer, are lower; the best of them is a trace's burst, and restored to
      // that the target went to 2-3x the capacity after each outage), or with too few of
      // them (the target was under the capacity) the highest target of the last seconds.
      // (The capacity is taken at the share a busy link's target takes of it.)
      const median = this.busySamples.count(now) >= MEMORY_MIN_SAMPLES ? BUSY_UTILIZATION * this.busySamples.quantile(now, 0.5) : 0;
      const before = Math.max(median, -this.targets.get(now));
      this.restoreBps = Number.isFinite(before) ? Math.min(this.max, before) : 0;
    } else if (this.deep && q < qt) {
      this.deep = false;
      if (this.restoreBps > this.target) {
        // The outage's samples describe the outage, not the link after it: the estimate
        // starts again from the capacity before it.
        this.busySamples.clear();
        this.capacity.reset(now, this.restoreBps);
        this.startup = true;
        this.restoreUntil = now + RESTORE_MS;
        this.target = Math.max(this.target, Math.min(this.max, this.restoreBps / 2));
      }
    }
  }

  private deep = false;
  private restoreBps = 0;
  private restoreUntil = -Infinity;

  /** Wire bytes per media byte asked for, averaged over a few seconds, in [1.05, 1.5]. */
  private wirePerMedia = 1.15;
  private overheadAt = -1;

  private measureOverhead(now: number): void {
    if (this.overheadAt < 0) this.overheadAt = now;
    if (now - this.overheadAt < 1000) return;
    const span = now - this.overheadAt;
    const sent = this.sent.between(now - span, now);
    const asked = this.askedBits / 8;
    this.overheadAt = now;
    this.askedBits = 0;
    // Only a second in which the sender sent about what it was asked for says anything: one
    // spent waiting for the encoder to catch up (or on a backlog) does not.
    if (!(sent > 0 && asked > 0) || now - this.blockedAt < span) return;
    const r = Math.min(1.5, Math.max(1.05, sent / asked));
    this.wirePerMedia += 0.3 * (r - this.wirePerMedia);
  }

  private askedBits = 0;

  /**
   * Bytes lost and acknowledged, each decayed with a one-second time constant: their ratio is
   * the share of bytes lost over about the last second. (An average of each event's own
   * fraction, weighted by the time since the one before, made a lone loss after a quiet 100 ms
   * weigh a tenth of a second of traffic: at 200 kbit/s a few spurious tail losses read as 20%,
   * "heavy loss" marked the link busy, and the target sat at its floor for 10 s of a trace
   * offering 1-9 Mbit/s with no queue.)
   */
  private countLoss(now: number, acked: number, lost: number): void {
    if (acked + lost <= 0) return;
    if (this.lastLossAt >= 0) {
      const keep = Math.exp(-Math.max(0, now - this.lastLossAt) / 1000);
      this.lostDecayed *= keep;
      this.ackedDecayed *= keep;
    }
    this.lastLossAt = now;
    this.lostDecayed += lost;
    this.ackedDecayed += acked;
    this.loss = this.lostDecayed / (this.lostDecayed + this.ackedDecayed);
  }

  private lostDecayed = 0;
  private ackedDecayed = 0;

  private lossNow(): number {
    return Math.max(this.loss, this.feedbackLoss);
  }

  onLoss(nowIn: number, lostBytes: number): void {
    const now = this.clock(nowIn);
    if (lostBytes > 0 && Number.isFinite(lostBytes)) this.countLoss(now, 0, lostBytes);
  }

  onFeedback(nowIn: number, lossFraction: number, _recvRateBps?: number): void {
    this.clock(nowIn);
    if (Number.isNaN(lossFraction)) return;
    if (!(lossFraction >= 0 && lossFraction <= 1)) {
      this.anomalies.badLoss++;
      lossFraction = Math.min(1, Math.max(0, lossFraction));
    }
    // About a second's average of the receiver's ~100 ms reports.
    this.feedbackLoss += 0.1 * (lossFraction - this.feedbackLoss);
  }

  canSend(bytesInFlight: number): boolean {
    if (bytesInFlight < this.windowBytes()) {
      this.blockedSince = -1;
      return true;
    }
    // The sender has more than the window lets out: its own queue grows (the RTT cannot show
    // that queue, the window keeps it out of the bottleneck).
    if (this.blockedSince < 0) this.blockedSince = this.lastNow;
    if (this.lastNow - this.blockedSince > BLOCKED_HOLD_MS) this.blockedAt = this.lastNow;
    return false;
  }

  private blockedSince = -1;

  private blockedAt = -Infinity;
  private headroom = MAX_HEADROOM;

  /**
   * In flight at most what the path carries over its base RTT plus twice the queue target:
   * a cellular buffer is never filled for seconds (the sender's queue sheds late video instead,
   * and audio still leaves first).
   */
  windowBytes(): number {
    const base = Number.isFinite(this.base) ? this.base : this.srtt;
    const rate = Math.max(this.capacity.rate, this.target);
    const ms = this.startup ? 2 * Math.max(base, 50) : base + Math.max(60, this.queueTarget);
    return Math.max(16 * 1024, (rate / 8) * (ms / 1000));
  }

  pacingRateBps(): number {
    return Math.max(2 * this.target, this.capacity.rate);
  }

  targetBitrateBps(): number {
    return this.target;
  }

  deliveryRateBps(): number {
    return this.capacity.rate;
  }

  /** The standing queue the controller sees, ms. */
  queueMs(): number {
    return this.queue;
  }

  probe(): void {
    if (this.lastNow - this.capacity.busyAt > 2 * this.srtt) this.startup = true;
  }
}
