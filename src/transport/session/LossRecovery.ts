/**
 * The sent-packet history and what comes back about it: ACKs (RTT and delivery-rate samples
 * for each path's controller), NACKs, loss detection per path, the RTO, and the resends a loss
 * queues (with spaced duplicates of a last-round resend). Packet numbers are allocated here.
 */
import type { LostFrame } from '../../wire/lost.js';
import { forEachAckRange, type AckFrame } from '../../wire/ack.js';
import type { OutFragment } from '../SendQueue.js';
import type { Path } from '../Path.js';
import type { SessionState } from './SessionState.js';
import type { RetransmitCause } from './Stats.js';

/** Second copy of a last-round resend goes this much later (outside a short loss burst). */
const DUPLICATE_SPACING_MS = 20;

export interface SentPacket {
  pn: number;
  time: number;
  bytes: number;
  path: Path;
  /** Position among the ack-eliciting packets of its path (per-path loss detection). */
  seq: number;
  frag: OutFragment | undefined;
  opens: number[] | undefined;
  /** LOST reports it carries (sent again if it is lost). */
  lost?: LostFrame[];
  ackEliciting: boolean;
  delivered: number;
  deliveredTime: number;
  /** Send time of the packet most recently acked on its path when this one left (BBR's first_sent_time). */
  firstSentTime: number;
  appLimited: boolean;
  /** A copy of it already went on another path because its own path went quiet (hedge). */
  hedged?: boolean;
}

export class LossRecovery {
  /** The next packet number (PROTECTED numbers start at 1). */
  nextPn = 1;
  private readonly sent = new Map<number, SentPacket>();
  private bytesInFlight = 0;
  private largestAcked = -1;
  private lossTimer = Infinity;
  private rtoBackoff = 0;
  private readonly dupes: { frag: OutFragment; at: number }[] = [];
  private readonly ackedNewest = new Map<Path, SentPacket>();
  private readonly ackedBytes = new Map<Path, number>();
  private readonly rtoSeen = new Set<Path>();
  /**
   * Ack-eliciting packets in `sent`, per path: rtoAt stops its walk once it has seen every path
   * that has one. Counting paths instead walked the whole map on every poll whenever a path had
   * nothing out (a server's viewer session: 9.7% of a loaded server's CPU in rtoAt alone).
   */
  private readonly outPerPath = new Map<Path, number>();

  /** `probeAcks` sees every ACK first (PathHealth: probes of down paths it covers). */
  constructor(private readonly s: SessionState, private readonly probeAcks: (now: number, f: AckFrame) => void) {}

  /**
   * Bytes of packet number the short header needs for `pn`: 2 while it is within 2^14 of the
   * largest the peer acknowledged (the peer's largest seen is at least that, and reordering
   * is far below the 2^15 the expansion tolerates), else 4 (before any ack, after a long gap).
   */
  pnLen(pn: number): 2 | 4 {
    return this.largestAcked >= 0 && pn - this.largestAcked < 0x4000 ? 2 : 4;
  }

  /** Records an ack-eliciting packet just built on `path`. */
  onSent(now: number, pn: number, bytes: number, path: Path, frag: OutFragment | undefined, opens: number[] | undefined, lost?: LostFrame[]): void {
    // Nothing in flight: a delivery-rate interval starts now (BBR). Counted from the last ack
    // before an idle spell, the idle time went into the interval and dragged the rate down.
    if (path.bytesInFlight <= 0) path.deliveredTime = path.firstSentTime = now;
    this.sent.set(pn, {
      pn, time: now, bytes, path, seq: path.nextSeq++, frag, opens, lost, ackEliciting: true,
      delivered: path.delivered, deliveredTime: path.deliveredTime || now, firstSentTime: path.firstSentTime || now, appLimited: this.s.queue.empty,
    });
    this.bytesInFlight += bytes;
    path.bytesInFlight += bytes;
    this.outPerPath.set(path, (this.outPerPath.get(path) ?? 0) + 1);
    if (path.outstandingSince < 0) path.outstandingSince = now;
    path.cc.onPacketSent(now, bytes, path.bytesInFlight);
  }

  /** A probe of a down path is not a packet in flight: PathHealth keeps it apart. */
  forget(pn: number, path: Path): void {
    const sp = this.sent.get(pn);
    if (sp) {
      this.untrack(sp);
      this.bytesInFlight -= sp.bytes;
      path.bytesInFlight -= sp.bytes;
      this.refreshOutstanding(new Map([[path, true]]));
    }
  }

  /**
   * A path gone quiet (its oldest packet out overdue and nothing acked since it came due,
   * not yet silent long enough to be taken down): each of its DATA packets is resent on the
   * others at the last moment a resend still makes the deadline (with room for the last
   * round's spaced copies), unless the take-down comes before that moment and resends it then.
   * The original stays in flight: if the path was only stalled (a cellular gap of a few
   * hundred ms), its ack still counts and, resent late, few copies are spent. Before this, a
   * packet resent onto a link just before it died waited out the link's silence and the
   * frame was given up (3 x 0.8 Mbit/s, a link killed: a GOP lost). Pooled bonds only: the
   * delivery estimate is the pool's. Returns when the next such resend falls due.
   */
  hedge(now: number, path: Path): number {
    const s = this.s;
    if (!s.pooled.active) return Infinity;
    const downAt = path.silentAt();
    if (!Number.isFinite(downAt)) return Infinity;
    const margin = s.repair.resendCopies() * DUPLICATE_SPACING_MS;
    let next = Infinity;
    for (const p of this.sent.values()) {
      if (p.path !== path || p.hedged || !p.frag) continue;
      const fr = p.frag;
      const m = fr.msg;
      const dl = m.meta.deadline;
      if (dl === undefined || m.done || m.acked[fr.index] || m.stream.options.reliability !== 'deadline') continue;
      if (m.retx?.[fr.index]) continue;
      const by = s.pooled.deliveredByOthers(now, p.bytes, path);
      // Sent now it would miss anyway: its original may still arrive.
      if (by >= dl) continue;
      const at = dl - (by - now) - margin;
      if (downAt <= at) continue;
      if (now < at) {
        next = Math.min(next, at);
        continue;
      }
      p.hedged = true;
      this.queueResend(now, p, fr, 'overdue');
    }
    return next;
  }

  /** A path went down: everything in flight on it is lost (and queued again for the others); their numbers go in `into`. */
  strand(now: number, path: Path, into?: Set<number>): void {
    for (const p of [...this.sent.values()]) {
      if (p.path !== path) continue;
      // Their packet numbers (bounded: what was in flight) let a late ack show the path was slow, not dead.
      if (into && into.size < 512) into.add(p.pn);
      this.onLost(now, p, 'path-down');
    }
    path.outstandingSince = -1;
  }

  onNack(now: number, packetNumbers: readonly number[]): void {
    for (const pn of packetNumbers) {
      const p = this.sent.get(pn);
      if (p) this.onLost(now, p, 'nack');
    }
  }

  onAck(now: number, f: AckFrame, via: Path): void {
    const s = this.s;
    if (f.largest >= this.nextPn) return s.drop('ack-unsent');
    this.probeAcks(now, f);
    const first = this.sent.keys().next();
    const lowest = first.done ? this.nextPn : first.value;
    // The newest packet acked on each path gives that path its RTT and delivery-rate sample.
    const newest = this.ackedNewest;
    newest.clear();
    const ackedBytes = this.ackedBytes;
    ackedBytes.clear();
    forEachAckRange(f, (lo, hi) => {
      for (let pn = Math.max(lo, lowest); pn <= hi; pn++) {
        const p = this.sent.get(pn);
        if (!p) continue;
        this.untrack(p);
        const path = p.path;
        if (p.ackEliciting) {
          this.bytesInFlight -= p.bytes;
          path.bytesInFlight -= p.bytes;
        }
        ackedBytes.set(path, (ackedBytes.get(path) ?? 0) + p.bytes);
        path.delivered += p.bytes;
        path.deliveredTime = now;
        path.firstSentTime = p.time;
        path.lastAckAt = now;
        if (p.seq > path.largestAckedSeq) path.largestAckedSeq = p.seq;
        const n = newest.get(path);
        if (!n || p.pn > n.pn) newest.set(path, p);
        this.onAcked(p);
      }
    });
    this.echoSample(now, f, via);
    if (!newest.size) return;
    this.refreshOutstanding(newest);
    this.rtoBackoff = 0;
    if (f.largest > this.largestAcked) this.largestAcked = f.largest;
    for (const [path, p] of newest) {
      let rttSample = NaN;
      // Only the largest acked has a trustworthy ack delay; a path whose newest acked packet
      // is older still gets its sample from the time since it was sent, less nothing: it is
      // an upper bound, which the estimator's minimum filter and smoothing absorb.
      // Over bonded paths a sample counts only from an ACK that came back on the packet's own
      // path: an ACK returning over another link measures this link's way out plus that link's
      // way back (a fast return made a 300 ms link look 200 ms, and then "silent").
      if (p.ackEliciting && (s.bond === 'single' ? p.pn === f.largest : via === path)) {
        rttSample = now - p.time;
        path.rtt.update(rttSample, p.pn === f.largest ? f.ackDelay / 10 : 0);
        this.ownSampleAt.set(path, now);
      } else if (p.ackEliciting && s.bond !== 'single') {
        const e = this.echoes.get(path);
        if (!e || p.pn > e.pn) this.echoes.set(path, { pn: p.pn, time: p.time });
      }
      // One-way delay needs the receiver's clock, which an ACK gives for its largest packet
      // only. Over bonded paths that packet is nearly always the fastest path's, so the others
      // use their RTT as the delay signal: the controller looks at its rise over the minimum,
      // and the feedback direction is not the congested one.
      const owd = p.pn === f.largest && s.bond === 'single' ? f.recvTime / 10 - p.time : s.bond === 'single' ? NaN : rttSample;
      const rate = deliveryRate(path, p, now);
      path.cc.onAck(now, {
        ackedBytes: ackedBytes.get(path)!,
        rttMs: rttSample,
        minRttMs: path.rtt.minRtt,
        srttMs: path.rtt.smoothed,
        deliveryRateBps: rate,
        appLimited: p.appLimited,
        oneWayDelayMs: owd,
      });
    }
    this.detectLosses(now);
    // Losses found by these acks (later packets of the path answered) leave the oldest packet
    // out newer still.
    this.refreshOutstanding(newest);
  }

  /**
   * Each path in `paths` (its packets were just acked): the send time of its oldest packet
   * still out. Only acks move it forward: packets an RTO gives up on were never answered, and
   * a dead link's packets, timing out one by one, must not restart its silence clock.
   */
  private refreshOutstanding(paths: Map<Path, unknown>): void {
    let left = 0;
    for (const path of paths.keys()) {
      path.outstandingSince = -1;
      left++;
    }
    for (const p of this.sent.values()) {
      if (!p.ackEliciting || p.path.outstandingSince >= 0 || !paths.has(p.path)) continue;
      p.path.outstandingSince = p.time;
      if (--left === 0) return;
    }
  }

  private onAcked(p: SentPacket): void {
    p.path.onPacketOutcome(false);
    if (p.lost) this.s.lossReports.onOutcome(0, p.lost, false);
    if (p.opens) for (const id of p.opens) {
      const s = this.s.outStreams.get(id);
      if (s) s.openAcked = true;
    }
    const fr = p.frag;
    if (!fr) return;
    const m = fr.msg;
    if (m.acked[fr.index]) return;
    m.acked[fr.index] = 1;
    m.ackedCount++;
    if (m.ackedCount === m.frags.length) m.done = true;
  }

  /**
   * Packet threshold (3 later packets acked) and time threshold (9/8 RTT): QUIC's rules, applied
   * within each path, so packets still on a slow path are not declared lost because a faster
   * path's later packets were acked first.
   */
  private detectLosses(now: number): void {
    this.lossTimer = Infinity;
    for (const p of this.sent.values()) {
      if (p.pn >= this.largestAcked) break;
      const path = p.path;
      if (p.seq >= path.largestAckedSeq) continue;
      const rtt = path.rtt;
      const delay = Math.max((9 / 8) * Math.max(rtt.smoothed, rtt.latest), 2);
      if (path.largestAckedSeq - p.seq >= 3) this.onLost(now, p, 'reorder');
      else if (p.time + delay <= now) this.onLost(now, p, 'early');
      else this.lossTimer = Math.min(this.lossTimer, p.time + delay);
    }
  }

  private onLost(now: number, p: SentPacket, cause: RetransmitCause): void {
    const s = this.s;
    if (!this.untrack(p)) return;
    if (p.ackEliciting) {
      this.bytesInFlight -= p.bytes;
      p.path.bytesInFlight -= p.bytes;
    }
    // A dead path's packets say nothing about its congestion: they were stranded, not dropped by a queue.
    if (cause !== 'path-down') {
      p.path.onPacketOutcome(true);
      p.path.cc.onLoss(now, p.bytes);
    }
    if (p.opens) for (const id of p.opens) s.pendingOpens.add(id);
    if (p.lost) s.lossReports.onOutcome(now, p.lost, true);
    const fr = p.frag;
    if (!fr) return;
    s.counters.dataPacketsLost++;
    const m = fr.msg;
    if (m.done || m.acked[fr.index]) return;
    const pooled = s.pooled.active;
    // Another copy of the fragment is still out (a hedge's, or an earlier resend): the last
    // copy lost decides whether to resend or give up. Giving the frame up here threw away its
    // GOP's queued frames for a frame the receiver then had (3 x 0.8 Mbit/s, a link killed:
    // 600 ms of picture).
    if (pooled && this.copyOut(fr)) return;
    if (m.stream.options.reliability === 'deadline' && m.meta.deadline !== undefined && !this.resendFits(now, p, m.meta.deadline, pooled)) {
      // Too late to resend. With copies on other paths (redundant, auto) one lost copy says
      // nothing about the others: giving the message up here threw away copies still in
      // flight or queued, and the rest of its GOP with it.
      if (s.bond === 'redundant' || s.bond === 'auto') return;
      // A pooled bond gives up the frames predicted from it too (SendQueue.giveUp: their bytes
      // would be wasted). One link does not: its FEC groups may still rebuild the fragment, and
      // dropping the dependents then threw away a GOP that would have played (mobile profile,
      // 300 s: video 1.0 -> 0.966 with giveUp here). Nor does a pooled message whose FEC was
      // sized for no resend round at all (fecRounds 0: sent late, behind a backlog), for the
      // same reason: after a link died, such a give-up dropped the queued rest of a GOP whose
      // lost fragment the receiver then rebuilt (3 x 0.8 Mbit/s, 0@60: 600 ms of picture).
      if (pooled && m.fecRounds !== 0) s.queue.giveUp(m, s.dropFn, 'deadline');
      else {
        s.queue.discard(m);
        s.emitDrop(m.stream, m.id, m.meta, 'deadline');
      }
      return;
    }
    this.queueResend(now, p, fr, cause);
  }

  /** Queues a resend of `fr` (lost, or stuck on a quiet path with `p`), with spaced copies in its last round. */
  private queueResend(now: number, p: SentPacket, fr: OutFragment, cause: RetransmitCause): void {
    const s = this.s;
    const m = fr.msg;
    const pooled = s.pooled.active;
    if (m.retx === undefined) m.retx = new Uint8Array(m.frags.length);
    if (m.retx[fr.index]) return;
    m.retx[fr.index] = 1;
    s.queue.pushRetransmit(fr);
    s.counters.retransmits++;
    s.counters.retransmitCauses[cause]++;
    // The last resend that can make the deadline goes several times, a little apart: a lost
    // resend cannot be resent again in time, and on one link with 1% loss one resend left 1 in
    // 10^4 packets lost (a frame a minute, and its GOP with it). Copies cost p x copies of the
    // bytes, where FEC on every first transmission cost a quarter of them.
    // Pooled bonds do the same; each copy is placed by the scheduler, so the copies of one
    // resend leave on different links when the first one's link is busier.
    const lastRound = m.meta.deadline !== undefined && (s.bond === 'single' ? !s.repair.anotherRoundFits(now, m.meta.deadline, p.path, s.lastPoll) : pooled && !s.pooled.anotherRoundFits(now, m.meta.deadline));
    if (lastRound) {
      const copies = s.repair.resendCopies();
      m.retx[fr.index] = copies;
      for (let i = 1; i < copies; i++) this.dupes.push({ frag: fr, at: now + i * DUPLICATE_SPACING_MS });
      s.counters.retransmits += copies - 1;
    }
  }

  /**
   * The receiver sends the same ACK back on every path that brought packets; the copy on the
   * fastest link acks a slow link's packets first, and its own copy, arriving later, found
   * nothing left to sample: a 600 ms link kept its initial 300 ms RTT for the whole session.
   * So the newest packet of each path acked over another path waits here for the copy on its
   * own path (one per path: bounded), which then gives the sample.
   */
  private echoSample(now: number, f: AckFrame, via: Path): void {
    const e = this.echoes.get(via);
    // Only for a path that gets no samples of its own (its copy always comes second): the
    // echo's sample carries the receiver's ACK delay, and on links of equal RTT, which sample
    // themselves often, it raised their SRTT and cost 3% of the video at 3 x 0.8 Mbit/s.
    if (!e || now - (this.ownSampleAt.get(via) ?? -Infinity) < 1000) return;
    let covered = false;
    forEachAckRange(f, (lo, hi) => {
      if (e.pn >= lo && e.pn <= hi) covered = true;
    });
    if (!covered) return;
    this.echoes.delete(via);
    via.rtt.update(now - e.time, 0);
  }

  private readonly echoes = new Map<Path, { pn: number; time: number }>();
  private readonly ownSampleAt = new Map<Path, number>();

  /** Is a packet carrying this fragment still in flight (neither acked nor lost)? */
  private copyOut(fr: OutFragment): boolean {
    for (const p of this.sent.values()) if (p.frag && p.frag.msg === fr.msg && p.frag.index === fr.index) return true;
    return false;
  }

  /** Can a resend of `p` sent now arrive before `deadline`? */
  private resendFits(now: number, p: SentPacket, deadline: number, pooled: boolean): boolean {
    const s = this.s;
    if (pooled) return s.pooled.resendFits(now, p.bytes, deadline);
    return now + (s.bond === 'single' ? s.repair.oneWayMs(p.path, s.lastPoll, false) : p.path.rtt.smoothed / 2) < deadline;
  }

  /** Queues the spaced second copies of last-round resends that are due. */
  releaseDupes(now: number): void {
    while (this.dupes.length && this.dupes[0]!.at <= now) this.s.queue.pushRetransmit(this.dupes.shift()!.frag);
  }

  /** The loss timer, due duplicates and the RTO (handleTimeout). */
  onTimeout(now: number): void {
    if (now >= this.lossTimer) this.detectLosses(now);
    this.releaseDupes(now);
    const rtoAt = this.rtoAt();
    if (now >= rtoAt) {
      for (const p of this.sent.values()) if (p.ackEliciting && p.time + p.path.rtt.rto(this.rtoBackoff) <= now) this.onLost(now, p, 'timeout');
      this.rtoBackoff++;
    }
  }

  /** The earliest of the loss timer, the RTO and the next duplicate. */
  wakeAt(): number {
    let t = Math.min(this.lossTimer, this.rtoAt());
    if (this.dupes.length) t = Math.min(t, this.dupes[0]!.at);
    return t;
  }

  private rtoAt(): number {
    if (this.bytesInFlight <= 0) return Infinity;
    let t = Infinity;
    const seen = this.rtoSeen;
    seen.clear();
    const paths = this.outPerPath.size;
    for (const p of this.sent.values()) {
      if (!p.ackEliciting || seen.has(p.path)) continue;
      seen.add(p.path);
      t = Math.min(t, p.time + p.path.rtt.rto(this.rtoBackoff));
      if (seen.size === paths) break;
    }
    return t;
  }

  /** Takes `p` out of `sent`; false if it was not there. */
  private untrack(p: SentPacket): boolean {
    if (!this.sent.delete(p.pn)) return false;
    if (p.ackEliciting) {
      const n = (this.outPerPath.get(p.path) ?? 0) - 1;
      if (n > 0) this.outPerPath.set(p.path, n);
      else this.outPerPath.delete(p.path);
    }
    return true;
  }
}

/**
 * BBR's delivery-rate sample for the newest packet acked on `path`: bytes delivered on the
 * path since that packet left, over the longer of its flight's send interval and its ack
 * interval. The ack interval alone reads a burst of ACKs (a cellular link delivering a
 * backlog at once, or ACKs bunched on the way back) as a rate the path never had; the send
 * interval bounds the sample by what this end actually sent. An interval shorter than the
 * minimum RTT says too little to be a sample (NaN), as in Linux's tcp_rate.c.
 */
export function deliveryRate(path: Path, p: SentPacket, now: number): number {
  const sendElapsed = p.time - p.firstSentTime;
  const ackElapsed = now - p.deliveredTime;
  const interval = Math.max(sendElapsed, ackElapsed);
  const minRtt = path.rtt.minRtt;
  if (!(interval > 0) || (Number.isFinite(minRtt) && interval < minRtt)) return NaN;
  return ((path.delivered - p.delivered) * 8000) / interval;
}
