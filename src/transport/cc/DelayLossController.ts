/**
 * A GCC-like controller with a BBR-like ceiling.
 * - Startup: until the first decrease the target doubles per RTT (BBR's and WebRTC's probing),
 *   so a link is found in seconds rather than the minute 8%/s takes from the initial rate.
 * - Delay: tracks the one-way delay (receiver time minus send time; a bonded path uses its RTT)
 *   against its minimum over a window; a queue above max(25 ms, minRtt / 4) that keeps growing
 *   (for `overuseHoldMs`, 0 by default) is overuse and cuts the target to 85% of the measured
 *   delivery rate. Delay drives the decision before loss does, because a drop-tail queue on a
 *   mobile uplink fills for seconds before it drops.
 * - Loss (wire loss from FEEDBACK, averaged over ~1 s): above 10% the target falls by half the
 *   loss fraction; random loss of a few percent does not cut the rate (FEC and NACK repair it).
 *   Once the loss is gone the target climbs back to where it was at the startup pace: loss
 *   alone (an outage, a burst) does not say the link got smaller.
 * - Otherwise the target grows 8% per second (at least 10 kbit/s per second), never above
 *   twice the best delivery rate seen recently, so an application-limited sender does not
 *   run the estimate away from reality.
 * Pacing runs at 2x the target (at least the delivery ceiling) so keyframes drain quickly.
 */
import { RateHistory } from './RateHistory.js';
import type { AckSample, SendAlgorithm } from './SendAlgorithm.js';

/** Loss is averaged over about this long before it may cut the rate. */
const LOSS_WINDOW_MS = 1000;
/** What the link carried is read over this long (GCC's acknowledged bitrate, ~0.5 s)... */
const CARRIED_WINDOW_MS = 500;
/** ...and a delay cut goes no lower than this share of it (see carriedBps). */
const CARRIED_FLOOR = 0.75;
/**
 * ...and only on a link reporting (almost) no loss. Where the link loses packets the delay may
 * well be real (a bond's lossy paths queue their resends), and there the cut goes all the way:
 * with the floor on every path, a bond of 0.5/1/2 Mbit/s links with 0.5/1/3% loss fell from
 * video 0.99 to 0.60 (bench bond, unequal links).
 */
const CLEAN_LOSS = 0.002;

export interface DelayLossOptions {
  initialBps?: number;
  minBps?: number;
  maxBps?: number;
  /**
   * The queue must stay above the threshold this long before it counts as overuse (default 0).
   * A bonded path gets a keyframe's share as one burst that queues for ~100 ms and drains; with
   * no hold each keyframe cut its rate by 15% and the path never reached its capacity.
   */
  overuseHoldMs?: number;
  /**
   * Whether a delay cut stops at CARRIED_FLOOR of what the link carried (default true). A pooled
   * bond turns it off: its scheduler already moves traffic off a path whose delay grows and
   * counts on the path's target to shed what no link can carry; with the floor, an overloaded
   * 3-link bond kept sending and lost 2 of 14 keyframes (test/transport/pooling.test.ts).
   */
  carriedFloor?: boolean;
}

export class DelayLossController implements SendAlgorithm {
  readonly name = 'delay-loss';
  private target: number;
  private readonly min: number;
  private readonly max: number;
  private lastUpdate = -1;
  private maxDelivery = 0;
  private maxDeliveryAt = 0;
  private maxDeliveryAppLimited = false;
  private owdMin = Infinity;
  private owdMinAt = 0;
  private prevQueue = 0;
  private lastDecrease = -Infinity;
  private srtt = 300;
  private cwndBytes = 64 * 1024;
  private loss = 0;
  private lastFeedback = -1;
  private readonly overuseHold: number;
  private overSince = -1;
  private startup = true;
  /** Startup's plateau check (BBR): rounds of one RTT in which the delivery rate grew < 25%. */
  private roundAt = -1;
  private roundDelivery = 0;
  private plateaus = 0;
  private readonly initial: number;
  /** Target before the latest run of loss-only cuts (0 = none to recover). */
  private recoverTo = 0;
  /** Bytes acknowledged, for what the link carried lately. */
  private readonly acked = new RateHistory();
  private readonly floorOn: boolean;

  constructor(o: DelayLossOptions = {}) {
    this.target = o.initialBps ?? 1_000_000;
    this.initial = this.target;
    this.min = o.minBps ?? 100_000;
    this.max = o.maxBps ?? 50_000_000;
    this.overuseHold = o.overuseHoldMs ?? 0;
    this.floorOn = o.carriedFloor ?? true;
  }

  onPacketSent(): void {}

  onAck(now: number, s: AckSample): void {
    this.srtt = s.srttMs;
    if (s.ackedBytes > 0) this.acked.add(now, s.ackedBytes);
    if (s.deliveryRateBps > 0 && (!s.appLimited || s.deliveryRateBps > this.maxDelivery || now - this.maxDeliveryAt > 2000)) {
      if (s.deliveryRateBps >= this.maxDelivery || now - this.maxDeliveryAt > 2000) {
        this.maxDelivery = s.deliveryRateBps;
        this.maxDeliveryAt = now;
        this.maxDeliveryAppLimited = s.appLimited;
      }
    }
    if (Number.isFinite(s.oneWayDelayMs)) {
      if (s.oneWayDelayMs < this.owdMin || now - this.owdMinAt > 10_000) {
        this.owdMin = s.oneWayDelayMs;
        this.owdMinAt = now;
      }
      const queue = s.oneWayDelayMs - this.owdMin;
      const threshold = Math.max(25, (Number.isFinite(s.minRttMs) ? s.minRttMs : 100) / 4);
      if (queue <= threshold) this.overSince = -1;
      else if (this.overSince < 0) this.overSince = now;
      const held = this.overSince >= 0 && now - this.overSince >= this.overuseHold;
      if (held && queue > threshold && queue >= this.prevQueue && now - this.lastDecrease > this.srtt) {
        const base = this.maxDelivery > 0 && !this.deliveryUnknown() ? Math.min(this.target, this.maxDelivery) : this.target;
        this.target = Math.max(this.min, Math.min(this.target, Math.max(0.85 * base, this.floorOn && this.loss < CLEAN_LOSS ? CARRIED_FLOOR * this.carriedBps(now) : 0)));
        this.lastDecrease = now;
        this.startup = false;
        this.recoverTo = 0;
      }
      this.prevQueue = queue;
    }
    this.checkPlateau(now);
    this.grow(now);
    this.cwndBytes = Math.max(64 * 1024, ((4 * this.pacingRateBps()) / 8) * (Math.max(this.srtt, 50) / 1000));
  }

  /**
   * Two guards on a delay cut, both against delay the sender's own rate did not build (a CPU-
   * loaded receiver stamps datagrams late: 30-300 ms "queues" on an idle loopback):
   * - a delivery rate measured while the sender had almost nothing to send (below a quarter
   *   of the target: the handshake and audio before the encoder's first keyframe) says nothing
   *   about the link, so the cut is from the target (deliveryUnknown);
   * - a cut goes no lower than CARRIED_FLOOR of what the link carried in the last half second
   *   (GCC anchors its decrease to the acknowledged bitrate the same way), so cuts do not
   *   compound 0.85x per RTT while everything sent is delivered.
   * Without them, in the e2e test under load the sender's target fell 1 Mbit/s -> 100 kbit/s
   * within 2 s of its start (first cut against 16-105 kbit/s of handshake and audio, then one
   * per RTT), and each keyframe was then shed at a 200 kbit/s pacing rate: whole GOPs lost on
   * a loss-free link. A real bottleneck still gets its cuts: there the sender offers more than
   * the link carries (test/transport/cc/DelayLossController.test.ts has both).
   */
  private carriedBps(now: number): number {
    const b = this.acked.between(now - CARRIED_WINDOW_MS, now);
    return Number.isFinite(b) ? (b * 8000) / CARRIED_WINDOW_MS : 0;
  }

  private deliveryUnknown(): boolean {
    return this.maxDeliveryAppLimited && this.maxDelivery < this.target / 4;
  }

  /**
   * Startup ends after three RTTs in which the delivery rate did not grow by a quarter (BBR's
   * full-pipe check): the link is full, or the application sends less than the link carries
   * and nothing more can be learnt. The target then falls to what was delivered, but never
   * below where it started: an encoder that had not started yet delivers nothing, and taking
   * that as the link's size held a 1.2 Mbit/s stream at the minimum rate (e2e at 200 ms RTT
   * carried no video). Counting only rounds with a backlog (BBR's app-limited rule) kept
   * startup going on a mostly app-limited stream and overshot on every keyframe: mobile profile
   * video 0.978 -> 0.956 (3 seeds x 300 s).
   */
  private checkPlateau(now: number): void {
    if (!this.startup) return;
    if (this.roundAt < 0) {
      this.roundAt = now;
      this.roundDelivery = this.maxDelivery;
      return;
    }
    if (now - this.roundAt < Math.max(this.srtt, 50)) return;
    this.plateaus = this.maxDelivery >= 1.25 * this.roundDelivery ? 0 : this.plateaus + 1;
    this.roundAt = now;
    this.roundDelivery = this.maxDelivery;
    if (this.plateaus >= 3) {
      this.startup = false;
      if (this.maxDelivery > 0) this.target = Math.max(this.initial, Math.min(this.target, this.maxDelivery));
    }
  }

  /** More is wanted than the target allows (a backlog): probe upward again at the startup pace. */
  probe(): void {
    if (this.startup) return;
    this.startup = true;
    this.roundAt = -1;
    this.plateaus = 0;
  }

  private grow(now: number): void {
    if (this.lastUpdate < 0) this.lastUpdate = now;
    const dt = Math.min(1000, now - this.lastUpdate) / 1000;
    this.lastUpdate = now;
    if (now - this.lastDecrease < this.srtt || this.loss > 0.1) return;
    // Startup (until the first decrease): double per RTT, as BBR and WebRTC's probing do, so a
    // link is found in seconds rather than the minute 8%/s takes from the initial rate.
    // Recovery: after cuts by loss alone (a cellular outage or a burst, not a queue), the rate
    // climbs back to where it was at the same pace, once the loss is gone.
    const fast = this.startup || (this.target < this.recoverTo && this.loss < 0.02);
    const gain = fast ? this.target * (2 ** ((dt * 1000) / Math.max(this.srtt, 50)) - 1) : Math.max(this.target * 0.08, 10_000) * dt;
    let next = this.target + gain;
    if (!this.startup && this.recoverTo > 0 && fast) {
      next = Math.min(next, this.recoverTo);
      if (next >= this.recoverTo) this.recoverTo = 0;
    }
    const ceiling = this.maxDelivery > 0 ? Math.max(2 * this.maxDelivery, this.min) : this.max;
    this.target = Math.min(this.max, Math.max(this.target, Math.min(next, ceiling)));
  }

  onLoss(): void {}

  onFeedback(now: number, lossFraction: number): void {
    // Reports come every ~100 ms, about 20 packets each at 2 Mbit/s: one burst of three lost
    // packets reads as 15%. The decision uses loss averaged over about a second instead, as
    // GCC does over its report interval, so a bursty but light loss does not halve the rate.
    const dt = this.lastFeedback < 0 ? 100 : Math.min(1000, Math.max(1, now - this.lastFeedback));
    this.lastFeedback = now;
    const a = dt / LOSS_WINDOW_MS;
    this.loss = (1 - a) * this.loss + a * lossFraction;
    if (this.loss > 0.1 && now - this.lastDecrease > this.srtt) {
      this.recoverTo = Math.max(this.recoverTo, this.target);
      this.target = Math.max(this.min, this.target * (1 - 0.5 * this.loss));
      this.lastDecrease = now;
      this.startup = false;
    }
  }

  canSend(bytesInFlight: number): boolean {
    return bytesInFlight < this.cwndBytes;
  }

  pacingRateBps(): number {
    return Math.max(2 * this.target, this.maxDelivery);
  }

  targetBitrateBps(): number {
    return this.target;
  }

  deliveryRateBps(): number {
    return this.maxDelivery;
  }
}
