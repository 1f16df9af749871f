/**
 * One path of a session: a local link (client) or a peer address (server), with its own RTT,
 * loss, MTU, validation state and, because links of a bonded uplink differ by 10x in capacity
 * and RTT, its own congestion controller, pacer, bytes in flight and packet sequence (loss is
 * detected per path: a slow path's packets are not "lost" because a fast path's later ones
 * were acked first). Until a path is validated (cookie on the first path, a PATH_CHALLENGE
 * answered on later ones), at most 3x the bytes received on it may be sent.
 */
import { MtuProber } from './MtuProber.js';
import { RttEstimator } from './RttEstimator.js';
import { Pacer } from './Pacer.js';
import type { SendAlgorithm } from './cc/SendAlgorithm.js';
import type { PathStats } from './api.js';

/** Rates and shares are measured over windows of this length. */
const RATE_WINDOW_MS = 1000;
/** Bounds of rateEstimateBps (16 kbit/s .. 10 Gbit/s). */
const MIN_RATE_BPS = 16_000;
const MAX_RATE_BPS = 10e9;
/** The best delivery rate is held this long, then halves every PEAK_HALF_LIFE_MS (see rateEstimateBps). */
const PEAK_HOLD_MS = 5000;
const PEAK_HALF_LIFE_MS = 5000;
/** An ack may come this much after the RTT says (the receiver's ack delay, a short queue) before the path is overdue. */
const OVERDUE_SLACK_MS = 25;

export class Path {
  /**
   * probing: not yet validated, or re-admitted after an outage and ramping up from a low rate;
   * active: carries media; down: silent, out of the schedule, probed until it answers again.
   */
  state: PathStats['state'] = 'probing';
  validated = false;
  /**
   * A path this end opened itself (its own link, or the TCP fallback): the anti-amplification
   * rule protects third parties from answers to forged addresses, so it binds only paths a peer
   * showed up on, never our own.
   */
  local = false;
  readonly rtt: RttEstimator;
  readonly mtu: MtuProber;
  readonly pacer: Pacer;
  bytesSent = 0;
  bytesReceived = 0;
  lastReceived = -Infinity;
  lastSent = -Infinity;
  /** Outstanding PATH_CHALLENGE data and when it was last sent. */
  challenge: Uint8Array | undefined;
  challengeSentAt = -Infinity;
  challengeTries = 0;
  /** Challenge data received on this path that must be echoed back on it. */
  pendingResponse: Uint8Array | undefined;
  /** An MTU probe received on this path: answer with its id and the size seen. */
  pendingProbeAck: { id: number; size: number } | undefined;
  /** EWMA of the fraction of data packets lost, sender's view. */
  lossRate = 0;
  packetsSent = 0;
  packetsLost = 0;

  // Per-path sending state.
  bytesInFlight = 0;
  /** Bonded paths: at most this much in flight (about the path's target over its RTT plus a queue budget). */
  windowCap = Infinity;
  /** Sequence of ack-eliciting packets sent on this path, and the largest of them acked. */
  nextSeq = 0;
  largestAckedSeq = -1;
  /** When a packet sent on this path was last acked (through any path). */
  lastAckAt = -Infinity;
  /**
   * Send time of this path's oldest ack-eliciting packet not yet acked nor declared lost, or
   * -1 when none is out (LossRecovery keeps it). The packets of a link that just died are
   * the ones sent after it died; its last acks, for packets sent before, say nothing of them.
   */
  outstandingSince = -1;
  delivered = 0;
  deliveredTime = 0;
  /** Send time of the packet most recently acked on this path (BBR's first_sent_time). */
  firstSentTime = 0;
  /** Outcomes since the last congestion feedback (bonded sessions feed per-path loss). */
  intervalAcked = 0;
  intervalLost = 0;

  // Health: silence takes a path down; probes bring it back after a hold that grows with flaps.
  downAt = -Infinity;
  downCount = 0;
  holdUntil = -Infinity;
  probeOk = 0;
  nextProbeAt = -Infinity;
  /** An ack-eliciting packet arrived on this path since the last ACK went out. */
  ackPending = false;
  /** A PING is owed on this path (probe of a down path, or keepalive of an idle bonded one). */
  probeDue = false;
  readmittedAt = -Infinity;
  /** Packet numbers the last take-down gave up for lost (PathHealth: a late ack of one says "slow, not dead"). */
  readonly stranded = new Set<number>();
  /** Down, but a stranded packet was acked since: in a dip, not dead. */
  dipped = false;
  /** Probe PINGs in flight on a down path: packet number -> send time. */
  readonly probes = new Map<number, number>();

  // Rate window.
  private windowStart = 0;
  private windowBytes = 0;
  private windowData = 0;
  /** Data packets sent on this path in the last full window, and all paths' total then. */
  dataPacketsLastWindow = 0;
  sendRateBps = 0;
  share = 0;
  private rxWindowStart = 0;
  private rxWindowBytes = 0;
  receiveRateBps = 0;

  constructor(readonly key: string, initialMtu: number, maxMtu: number, initialRtt: number, public cc: SendAlgorithm) {
    this.rtt = new RttEstimator(initialRtt);
    this.mtu = new MtuProber(initialMtu, maxMtu);
    this.pacer = new Pacer(cc.pacingRateBps(), 5, initialMtu);
  }

  /** May `bytes` more go out on this path under the 3x anti-amplification rule? */
  maysend(bytes: number): boolean {
    return this.validated || this.local || this.bytesSent + bytes <= 3 * this.bytesReceived;
  }

  /**
   * A bonded sender's own link carries media before its challenge is answered: validation
   * protects a peer's address from amplification, and this end's own link needs no such
   * proof (the receiver accepts any authenticated packet from a new address). A link that does
   * not work goes silent and is taken down like any other.
   */
  eager = false;

  /** Validated (or an eager own link) and not down: may carry media. */
  get usable(): boolean {
    return (this.validated || (this.eager && this.local)) && this.state !== 'down';
  }

  onPacketOutcome(lost: boolean): void {
    if (lost) {
      this.packetsLost++;
      this.intervalLost++;
    } else this.intervalAcked++;
    this.lossRate = 0.98 * this.lossRate + (lost ? 0.02 : 0);
  }

  /** Packets acked and lost since the last call (sender's view). */
  takeIntervalOutcomes(): { acked: number; lost: number } {
    const out = { acked: this.intervalAcked, lost: this.intervalLost };
    this.intervalAcked = this.intervalLost = 0;
    return out;
  }

  /**
   * When the path counts as dead, if packets are out on it: its oldest packet out has gone
   * unanswered for the silence limit, and nothing at all was acked on it for half that. The
   * first alone took a slow link down (a rate dip to 15% leaves its queue's oldest packet
   * waiting seconds while acks keep coming); the second alone, counted from the last ack,
   * called a dead link dead only 2 SRTT after the acks of what it carried before it died
   * stopped, about one RTT later than the packets it lost tell (a keyframe sent as it died was
   * resent past its deadline).
   */
  silentAt(): number {
    if (this.outstandingSince < 0) return Infinity;
    const limit = this.silenceLimit();
    return Math.max(this.outstandingSince + limit, this.lastAckAt + limit / 2);
  }

  /**
   * How long a packet out on this path may go unanswered before the path counts as dead: at
   * least 250 ms and twice its RTT, and more when its RTT swings (4 variances above the mean),
   * so a link whose RTT jumps from 100 to 1200 ms is slow, not dead.
   */
  silenceLimit(): number {
    return Math.max(250, 2 * this.rtt.smoothed, this.rtt.smoothed + 4 * this.rtt.rttVar);
  }

  /**
   * ms by which this path's oldest packet out is later than its RTT (and a variance) says it
   * should have been acked: 0 on a path that answers as usual. A link that stalls or dies
   * shows here an RTT before anything else can tell, and the scheduler counts it as queue
   * ahead of the next packet there, so the path gets less the longer it stays quiet.
   */
  overdueMs(now: number): number {
    return Math.max(0, now - this.dueAt());
  }

  /**
   * Stalled or dead, not just slow: its oldest packet out is overdue by an RTT it has measured
   * and nothing was acked on it since that packet came due (a link with a growing queue keeps
   * acking, each ack a little later). Before its first RTT sample the RTT is a guess: a new
   * link whose startup queue made its first acks late read as stalled.
   */
  stalled(now: number): boolean {
    return this.rtt.sampled && now > this.dueAt() && this.lastAckAt < this.dueAt();
  }

  /** When the oldest packet out is due to have been acked (Infinity: none out); see overdueMs. */
  dueAt(): number {
    if (this.outstandingSince < 0) return Infinity;
    const rtt = this.rtt;
    return this.outstandingSince + Math.max(rtt.smoothed, rtt.latest) + Math.max(OVERDUE_SLACK_MS, rtt.rttVar);
  }

  /**
   * Bytes the path's bottleneck likely still holds: a fluid model fed by what this end sent and
   * drained at the path's delivery rate. It sees a keyframe's queue the moment it is sent, where
   * RTT samples show it an RTT late, and bytes in flight miss it on a link that was not full.
   */
  queueMs(now: number): number {
    const rate = this.cc.deliveryRateBps();
    if (!(rate > 0)) return 0;
    this.drainModel(now, rate);
    return (this.modelQueue * 8000) / rate;
  }

  /**
   * What the bottleneck drains, for reading bytes in flight as a queue: the best delivery rate
   * seen, but at least half the target. The first delivery samples span the idle start (76
   * kbit/s on a 2 Mbit/s link) and read as a queue of seconds, and resends that would have
   * arrived were given up. (The fluid model above keeps the measured rate: see RepairPlanner.)
   */
  drainRate(): number {
    return Math.max(this.cc.deliveryRateBps(), this.cc.targetBitrateBps() / 2);
  }

  private modelQueue = 0;
  private modelAt = 0;

  private drainModel(now: number, rate: number): void {
    this.modelQueue = Math.max(0, this.modelQueue - (rate / 8000) * (now - this.modelAt));
    this.modelAt = now;
  }

  /**
   * What the multipath scheduler counts on this path carrying, bit/s: the best delivery rate
   * the controller reported, held for a while and then forgotten slowly (half every 5 s), or
   * the controller's target before the first sample. A controller's own maximum follows
   * app-limited samples down within seconds: a link that carried 800 kbit/s and then idled
   * while the stream waited for a keyframe read as 16 kbit/s, and the keyframe was then judged
   * undeliverable. A real drop in capacity shows in the RTT, which the scheduler also reads.
   * Clamped: the rate comes from what the peer acks, and neither zero (a division) nor
   * terabits (a queue that never fills) may reach the arithmetic.
   */
  rateEstimateBps(now: number): number {
    const d = this.cc.deliveryRateBps();
    let r: number;
    if (d > 0 && Number.isFinite(d)) {
      const held = now - this.peakAt <= PEAK_HOLD_MS ? this.peakBps : this.peakBps * 2 ** (-(now - this.peakAt - PEAK_HOLD_MS) / PEAK_HALF_LIFE_MS);
      if (d >= held) {
        this.peakBps = Math.min(MAX_RATE_BPS, d);
        this.peakAt = now;
      }
      r = Math.max(d, held);
    } else r = this.cc.targetBitrateBps();
    // The first RTTs' delivery samples span the idle start and read far low (350 kbit/s on an
    // 800 kbit/s link): for three RTTs after the first media the controller's target may
    // stand in for the rate, up to twice what was measured.
    if (this.firstDataAt < 0 || now - this.firstDataAt < 3 * this.rtt.smoothed) r = Math.max(r, Math.min(this.cc.targetBitrateBps(), d > 0 ? 2 * d : Infinity));
    return Number.isFinite(r) ? Math.min(MAX_RATE_BPS, Math.max(MIN_RATE_BPS, r)) : MIN_RATE_BPS;
  }

  private peakBps = 0;
  private peakAt = -Infinity;

  /**
   * Bytes the scheduler believes wait at this path's bottleneck: the same fluid model as
   * queueMs, but drained at rateEstimateBps() from the first packet on (queueMs keeps no model
   * before a delivery sample, and a scheduler that saw no queue there put a whole keyframe on
   * one link).
   */
  schedQueueBytes(now: number): number {
    this.drainSched(now);
    return this.schedQueue;
  }

  private schedQueue = 0;
  private schedAt = 0;

  private drainSched(now: number): void {
    if (now > this.schedAt) {
      this.schedQueue = Math.max(0, this.schedQueue - (this.rateEstimateBps(now) / 8000) * (now - this.schedAt));
      this.schedAt = now;
    }
  }

  /** A path that goes down loses its queue (its packets are re-sent elsewhere). */
  clearSchedQueue(now: number): void {
    this.schedQueue = 0;
    this.schedAt = now;
  }

  /** When this path sent its first media packet (-1: not yet). */
  private firstDataAt = -1;

  countSent(now: number, bytes: number, data: boolean): void {
    if (data && this.firstDataAt < 0) this.firstDataAt = now;
    this.drainSched(now);
    this.schedQueue += bytes;
    const rate = this.cc.deliveryRateBps();
    if (rate > 0) {
      this.drainModel(now, rate);
      this.modelQueue += bytes;
    }
    this.rollWindow(now);
    this.windowBytes += bytes;
    if (data) this.windowData++;
  }

  /** Closes the rate window when due; returns true if it closed (the session then recomputes shares). */
  rollWindow(now: number): boolean {
    if (now - this.windowStart < RATE_WINDOW_MS) return false;
    const span = Math.max(RATE_WINDOW_MS, now - this.windowStart);
    this.sendRateBps = Math.round((this.windowBytes * 8000) / span);
    this.dataPacketsLastWindow = this.windowData;
    this.windowBytes = this.windowData = 0;
    this.windowStart = now;
    return true;
  }

  countReceived(now: number, bytes: number): void {
    this.bytesReceived += bytes;
    this.lastReceived = now;
    if (now - this.rxWindowStart >= RATE_WINDOW_MS) {
      this.receiveRateBps = Math.round((this.rxWindowBytes * 8000) / Math.max(RATE_WINDOW_MS, now - this.rxWindowStart));
      this.rxWindowBytes = 0;
      this.rxWindowStart = now;
    }
    this.rxWindowBytes += bytes;
  }

  stats(): PathStats {
    return {
      path: this.key,
      state: this.state,
      srttMs: this.rtt.smoothed,
      rttVarMs: this.rtt.rttVar,
      mtu: this.mtu.mtu,
      lossRate: this.lossRate,
      sendRateBps: this.sendRateBps,
      share: this.share,
      targetBitrateBps: Math.round(this.cc.targetBitrateBps()),
      controller: this.cc.name,
      bytesInFlight: this.bytesInFlight,
      bytesReceived: this.bytesReceived,
      receiveRateBps: this.receiveRateBps,
    };
  }
}
