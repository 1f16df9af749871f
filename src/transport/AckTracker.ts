/**
 * The receive side of reliability: which packet numbers arrived (as ranges, newest first,
 * bounded), when to send an ACK, and which gaps to NACK. A gap is NACKed once it is older than
 * the reorder delay, then again every `renackMs`, at most 3 times.
 */
import type { AckFrame } from '../wire/ack.js';
import { MAX_ACK_RANGES } from '../wire/ack.js';

const MAX_RANGES = MAX_ACK_RANGES + 1;
const MAX_MISSING = 256;

interface Missing {
  since: number;
  lastNack: number;
  tries: number;
}

export class AckTracker {
  /** Inclusive [lo, hi] pairs, highest first. */
  private ranges: number[] = [];
  private largestAt = 0;
  private unacked = 0;
  private ackDue = Infinity;
  private missing = new Map<number, Missing>();
  /** Packet numbers received since the last ACK: their ranges go in the next one first. */
  private fresh: number[] = [];
  received = 0;
  highest = -1;

  constructor(private readonly maxAckDelay = 5, private readonly reorderDelay = 10) {}

  onPacket(now: number, pn: number, ackEliciting: boolean): void {
    this.received++;
    const outOfOrder = pn < this.highest || pn > this.highest + 1;
    if (pn > this.highest) {
      // PROTECTED packet numbers start at 1 (0 is the handshake's): 0 is never a gap.
      for (let g = Math.max(this.highest + 1, 1, pn - MAX_MISSING); g < pn; g++) {
        if (this.missing.size >= MAX_MISSING) break;
        this.missing.set(g, { since: now, lastNack: -Infinity, tries: 0 });
      }
      this.highest = pn;
      this.largestAt = now;
    } else this.missing.delete(pn);
    this.insert(pn);
    if (this.fresh.length < 256) this.fresh.push(pn);
    if (!ackEliciting) return;
    this.unacked++;
    if (outOfOrder || this.unacked >= 2) this.ackDue = now;
    else if (this.ackDue === Infinity) this.ackDue = now + this.maxAckDelay;
  }

  private insert(pn: number): void {
    const r = this.ranges;
    let i = 0;
    while (i < r.length && r[i]! > pn) i += 2;
    // r[i] is the first range with lo <= pn (ranges are [lo, hi] pairs stored as lo at i, hi at i+1 descending)
    for (let j = 0; j < r.length; j += 2) {
      if (pn >= r[j]! && pn <= r[j + 1]!) return;
    }
    for (let j = 0; j < r.length; j += 2) {
      if (pn === r[j + 1]! + 1) {
        r[j + 1] = pn;
        if (j > 0 && r[j - 2]! === pn + 1) {
          r[j - 2] = r[j]!;
          r.splice(j, 2);
        }
        return;
      }
      if (pn === r[j]! - 1) {
        r[j] = pn;
        if (j + 2 < r.length && r[j + 3]! === pn - 1) {
          r[j] = r[j + 2]!;
          r.splice(j + 2, 2);
        }
        return;
      }
    }
    let at = 0;
    while (at < r.length && r[at]! > pn) at += 2;
    r.splice(at, 0, pn, pn);
    if (r.length > 2 * MAX_RANGES) r.length = 2 * MAX_RANGES;
    void i;
  }

  /** Ack-eliciting packets arrived since the last ACK (packets with only ACKs need none back). */
  get owesAck(): boolean {
    return this.unacked > 0;
  }

  wantsAck(now: number): boolean {
    return now >= this.ackDue;
  }

  nextAckTime(): number {
    return this.ackDue;
  }

  /**
   * Builds the ACK frame (receive time in 100 us units of the local clock). When there are more
   * ranges than fit, the newest range and those holding packets received since the last ACK go
   * first: over bonded paths a slow path's packets land in old gaps, many ranges down, and would
   * otherwise never be acked. Leaving a range out only delays its ack; it never reads as a loss.
   */
  buildAck(now: number, maxRanges = MAX_ACK_RANGES): AckFrame | undefined {
    const r = this.ranges;
    if (r.length === 0) return undefined;
    this.unacked = 0;
    this.ackDue = Infinity;
    // Every range fits (the usual case): newest first, no choosing to do.
    const pick = r.length / 2 - 1 > maxRanges ? this.pickRanges(maxRanges) : undefined;
    this.fresh.length = 0;
    const largest = r[1]!;
    const out: number[] = [];
    let lo = r[0]!;
    for (let i = 0, j = 2; pick ? i < pick.length : j + 1 < r.length; i++, j += 2) {
      if (pick) j = pick[i]!;
      const hi = r[j + 1]!;
      const gap = lo - hi - 2;
      const len = hi - r[j]!;
      if (gap > 0xffff || len > 0xffff) break;
      out.push(gap, len);
      lo = r[j]!;
    }
    return {
      kind: 'ack',
      largest,
      ackDelay: Math.round((now - this.largestAt) * 10),
      recvTime: Math.round(this.largestAt * 10) >>> 0,
      firstRange: Math.min(0xffff, largest - r[0]!),
      ranges: out,
    };
  }

  /** Indexes (into `ranges`, descending) of the ranges after the first to put in the next ACK. */
  private pickRanges(maxRanges: number): number[] {
    const r = this.ranges;
    const chosen = new Set<number>();
    for (const pn of this.fresh) {
      if (chosen.size >= maxRanges) break;
      for (let j = 2; j + 1 < r.length; j += 2) {
        if (pn >= r[j]! && pn <= r[j + 1]!) {
          chosen.add(j);
          break;
        }
      }
    }
    for (let j = 2; j + 1 < r.length && chosen.size < maxRanges; j += 2) chosen.add(j);
    return [...chosen].sort((a, b) => a - b);
  }

  /** Gaps due for a NACK now (marks them sent). */
  takeNacks(now: number, renackMs: number, max: number): number[] {
    const out: number[] = [];
    for (const [pn, m] of this.missing) {
      if (m.since + this.reorderDelay > now || m.lastNack + renackMs > now) continue;
      m.lastNack = now;
      m.tries++;
      out.push(pn);
      if (m.tries >= 3) this.missing.delete(pn);
      if (out.length >= max) break;
    }
    return out;
  }

  nextNackTime(renackMs: number): number {
    let t = Infinity;
    for (const m of this.missing.values()) {
      const due = Math.max(m.since + this.reorderDelay, m.lastNack + renackMs);
      if (due < t) t = due;
    }
    return t;
  }
}
