/**
 * How a sender repairs deadline messages in time, per session: the wire loss FEC is sized for,
 * how far the receiver is (one-way delay with the queue ahead), how many NACK rounds still fit
 * before a message's deadline, how many copies the last resend gets, and when one link is too
 * full for repairs. The session asks; this holds the estimates. No I/O, no clock: every call
 * takes the time it is about.
 *
 * Why by deadline: at 300 ms RTT and a 600 ms deadline one NACK round fits for a frame sent at
 * once, none for the frames queued behind a keyframe. FEC for every frame cost a quarter of the
 * wire and still lost a frame a minute (a packet lost twice); resends where a round fits, the
 * last one doubled, and FEC only for what no round can reach, cost half that and lost none.
 */
import type { Path } from './Path.js';

/** Wire loss assumed before the first receiver report. */
const PRIOR_LOSS = 0.02;
/** A packet should be lost for good (first copy and every resend) at most this often. */
const RESIDUAL_LOSS = 2e-6;
const MAX_RESEND_COPIES = 2;
/** Time for the receiver to see a gap (the next packet) and answer with a NACK, ms. */
const NACK_DETECT_MS = 20;
/** A bottleneck queue (modelled) above this for CONGESTED_FOR_MS means one link is saturated: no video FEC then, ms. */
const CONGESTED_MS = 60;
const CONGESTED_FOR_MS = 1000;

export class RepairPlanner {
  /** The wire loss FEC is sized for (0..1). */
  loss = PRIOR_LOSS;
  private fast = PRIOR_LOSS;
  private slow = PRIOR_LOSS;
  private reports = 0;
  private congestedSince = -1;

  /** `single`: one path (resend copies, the saturation rule, the one-link round formula). */
  constructor(private readonly single: boolean) {}

  /** A receiver report: the fraction of packets that did not arrive in its interval. */
  onReport(loss: number): void {
    // FEC follows the larger of a fast (~1 s) and a slow average: 100 ms intervals of a 1%
    // link mostly show 0, and a fast average alone turned FEC off between losses (and a
    // faster one turned it on for every pair of losses). Bonded sessions keep a 300 ms one:
    // with one lossy link of three, the steadier estimate kept FEC high and cost the clean
    // links a sixth of their rate.
    const a = this.single ? 0.1 : 0.3;
    this.fast = (1 - a) * this.fast + a * loss;
    // A running mean over the first reports (the prior counts as one), then ~10 s: on a clean
    // link this average lets go of the prior within a second (the fast one within about two),
    // where a plain 10 s average kept FEC on for 20 s.
    const w = Math.max(0.01, 1 / (++this.reports + 1));
    this.slow = (1 - w) * this.slow + w * loss;
    // Sized for the slow average plus two standard errors (~2,000 packets in its 10 s): sized
    // for the mean alone, a link at 1% read as 0.6% now and then, and groups one repair short
    // failed.
    this.loss = Math.max(this.fast, this.slow + 2 * Math.sqrt(this.slow / 2000));
  }

  /**
   * Copies of a last-round resend: the fewest with which a packet is lost for good (lost, then
   * every copy lost) at most RESIDUAL_LOSS of the time, at the loss FEC is sized for.
   */
  resendCopies(): number {
    const p = Math.min(0.5, this.loss);
    if (!(p > 0)) return 1;
    return Math.max(1, Math.min(MAX_RESEND_COPIES, Math.ceil(Math.log(RESIDUAL_LOSS / p) / Math.log(p))));
  }

  /**
   * One-way delay to the receiver now, queue included (all of a queue is in the media
   * direction). The queue is read from what this end sent (Path.queueMs, a fluid model) and the
   * bytes in flight beyond what the path holds, not from RTT samples: those show a queue an RTT
   * late (a keyframe's peaked in them half a second after it had drained), and with them most
   * frames after a keyframe looked out of reach of a resend. `pessimistic` (deciding what FEC
   * must cover) takes the larger estimate; otherwise (whether a resend is still worth sending,
   * where being wrong costs only bytes) half the in-flight one: the fluid model drains at the
   * measured delivery rate, which reads far too low in the first second, and made the first
   * frames look seconds away, so resends in time were given up.
   */
  oneWayMs(path: Path, t: number, pessimistic = true): number {
    const r = path.rtt;
    if (!Number.isFinite(r.minRtt)) return r.smoothed / 2;
    const rate = path.drainRate();
    const inFlightQueue = ((path.bytesInFlight - (rate / 8) * (r.minRtt / 1000)) * 8000) / rate;
    return r.minRtt / 2 + (pessimistic ? Math.max(0, inFlightQueue, path.queueMs(t)) : Math.max(0, inFlightQueue) / 2);
  }

  /**
   * Whether a resend sent now, if lost, could be resent once more before the deadline: the
   * receiver sees the gap on the next packet, its NACK takes half an RTT back, the second
   * resend the one-way delay forward.
   */
  anotherRoundFits(now: number, deadline: number, path: Path, t: number): boolean {
    return now + this.oneWayMs(path, t) + this.roundMs(path, t) <= deadline;
  }

  private roundMs(path: Path, t: number): number {
    return path.rtt.smoothed / 2 + this.oneWayMs(path, t) + NACK_DETECT_MS;
  }

  /**
   * Resend rounds that fit before `deadline` for a message whose first fragment leaves now
   * behind `queuedBytes`, as FEC sizing counts them (FecPolicy: the target is divided by
   * p^rounds). One link: the first copy arrives after the sender's queue and the one-way
   * delay, each round costs a NACK back and a resend forward, and the last round's copies
   * each count; nothing is counted before the first ACKs (nothing is known of the path).
   * Bonded sessions: ~1.25 RTT per round after the first half RTT, their own formula (a resend
   * can take another link there, and the bond's figures were tuned on it).
   */
  rounds(now: number, deadline: number, queuedBytes: number, path: Path, pacingBps: number, t: number): number {
    if (!this.single) {
      const rtt = path.rtt.smoothed;
      const queueMs = (queuedBytes * 8000) / Math.max(1, pacingBps);
      return Math.max(0, Math.floor((deadline - now - queueMs - rtt / 2) / (1.25 * rtt + 10)));
    }
    if (!path.rtt.sampled || !(path.cc.deliveryRateBps() > 0)) return 0;
    const queueMs = (queuedBytes * 8000) / Math.max(1, path.cc.targetBitrateBps());
    const rounds = Math.max(0, Math.floor((deadline - now - queueMs - this.oneWayMs(path, t)) / this.roundMs(path, t)));
    return rounds > 0 ? rounds - 1 + this.resendCopies() : 0;
  }

  /**
   * The loss a class's FEC is sized for, or 0 for video while one link is saturated: with a
   * queue standing at the bottleneck, repairs only deepen the queue that made them needed (in
   * a startup queue every group was out of a resend's reach, FEC took the link to capacity and
   * the queue never drained). A keyframe's queue drains in well under a second; saturation is
   * timed from the queue's first sight above the limit (timed from its last sight below, a
   * first keyframe a second into a session went out without repairs). Audio keeps its repairs:
   * they are small, and audio is what plays through an outage.
   */
  fecLoss(now: number, path: Path, cls: 'audio' | 'video'): number {
    if (!this.single || cls === 'audio') return this.loss;
    if (path.queueMs(now) <= CONGESTED_MS) this.congestedSince = -1;
    else if (this.congestedSince < 0) this.congestedSince = now;
    return this.congestedSince >= 0 && now - this.congestedSince > CONGESTED_FOR_MS ? 0 : this.loss;
  }
}
