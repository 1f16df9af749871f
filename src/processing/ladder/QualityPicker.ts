/**
 * Which rendition a viewer of `?quality=auto` should get, from how fast it drains what the
 * server queues for it. Sans-IO: the caller samples the viewer (bytes handed to its queue so
 * far, bytes still queued: Node's buffer, the kernel's unacknowledged bytes, the tags waiting)
 * with `now`, and gets the index of the rendition to switch to at the next keyframe.
 *
 * Down fast, on either of two signs. (1) The link is short: on two intervals in a row the
 * network held a queue at both ends (so what went out is what the link carried), the queue
 * grew, and it drained slower than the current rendition's rate; the viewer moves at once to
 * the best rendition that fits 90% of that drain rate. A keyframe's burst grows the queue for
 * one interval and is gone by the next; a backlog that shrinks is not congestion. This sees a
 * cut to anywhere below the current rendition in two samples, where a queue mark is reached
 * only after (mark / (rate - link)) seconds, long for a link just below the rate. (2) The
 * queue holds more than `downQueueMs` of the current rendition on two samples in a row and
 * is not shrinking: the viewer moves to the best rendition that fits 90% of the rate it was
 * seen to drain at while it had a queue (one step down when no such rate is known yet). Up carefully: only after the
 * queue stayed near empty for `upHoldMs` in a row, one step at a time; an up that has to be
 * undone within UNDONE_MS doubles the hold (to `maxUpHoldMs`), so a link that cannot carry the
 * next rendition is not probed every few seconds.
 */
export interface PickerOptions {
  /** Queue (in ms of the current rendition) above which the viewer steps down. Default 500. */
  downQueueMs: number;
  /** Queue below which a sample counts as "keeping up", ms. Default 120. */
  goodQueueMs: number;
  /** Time in a row of keeping up before a step up, ms. Default 6000. */
  upHoldMs: number;
  maxUpHoldMs: number;
  /** After a switch, no further down-step for this long (the old backlog is still draining), ms. Default 1000. */
  settleMs: number;
}

export const DEFAULT_PICKER: PickerOptions = { downQueueMs: 500, goodQueueMs: 120, upHoldMs: 6000, maxUpHoldMs: 60_000, settleMs: 1000 };

/** An up-step undone this soon was a failed probe. */
const UNDONE_MS = 10_000;
/** A sample is network-limited (its drain rate is the link's) when this much stayed queued. */
const LIMITED_BYTES = 16 << 10;
/** Intervals in a row that must show a short link (sign 1) before a step down. */
const SHORT_INTERVALS = 2;

export class QualityPicker {
  /** Index into the rates (0 = best) the viewer should be on. */
  current: number;
  /** Rate the viewer drained at while network-limited, bit/s (smoothed); undefined until seen. */
  capacityBps: number | undefined;
  private last: { at: number; sent: number; pending: number; network: number } | undefined;
  /** Drain rates of the intervals in a row that showed a short link (sign 1), bit/s. */
  private short: number[] = [];
  private goodSince: number | undefined;
  private lastSwitchAt = -Infinity;
  private lastUpAt = -Infinity;
  private upHold: number;
  private readonly o: PickerOptions;

  constructor(
    /** Bit/s of each rendition, best first. */
    private readonly ratesBps: readonly number[],
    start = 0,
    options: Partial<PickerOptions> = {},
  ) {
    this.o = { ...DEFAULT_PICKER, ...options };
    this.current = Math.min(Math.max(0, start), ratesBps.length - 1);
    this.upHold = this.o.upHoldMs;
  }

  /** Rendition rates can be refined from what the streams actually carry. */
  setRate(index: number, bps: number): void {
    (this.ratesBps as number[])[index] = bps;
  }

  /**
   * `networkBytes`: of the pending bytes, those the network holds (the kernel's unacknowledged
   * bytes), when known; the rest wait in the server. Only a queue in the network says the link
   * is the limit (a sender that holds bytes back by itself shows one in the server only).
   */
  sample(now: number, sentBytes: number, pendingBytes: number, networkBytes = pendingBytes): number {
    const l = this.last;
    this.last = { at: now, sent: sentBytes, pending: pendingBytes, network: networkBytes };
    // A join starts with a GOP replay in the queue: the first settleMs are not a verdict.
    if (!l) this.lastSwitchAt = now;
    if (!l || now <= l.at) return this.current;
    const drainedBps = ((sentBytes - l.sent - (pendingBytes - l.pending)) * 8 * 1000) / (now - l.at);
    const limited = networkBytes >= LIMITED_BYTES && l.network >= LIMITED_BYTES && drainedBps >= 0;
    if (limited) {
      this.capacityBps = this.capacityBps === undefined ? drainedBps : 0.7 * this.capacityBps + 0.3 * drainedBps;
    }
    const rate = this.ratesBps[this.current]!;
    if (limited && pendingBytes > l.pending && drainedBps < rate) this.short.push(drainedBps);
    else this.short = [];
    const canDown = now - this.lastSwitchAt >= this.o.settleMs && this.current < this.ratesBps.length - 1;
    if (this.short.length >= SHORT_INTERVALS && canDown) {
      const linkBps = this.short.reduce((a, b) => a + b, 0) / this.short.length;
      this.capacityBps = linkBps;
      return this.down(this.current + 1, now);
    }
    const queueMs = (pendingBytes * 8 * 1000) / rate;
    const prevQueueMs = (l.pending * 8 * 1000) / rate;
    // Two samples in a row over the mark: one burst (a keyframe) is not congestion.
    // A queue that shrinks is draining (the backlog of a step down, of a failed probe): not a reason for another step.
    const draining = pendingBytes < l.pending;
    if (queueMs > this.o.downQueueMs && prevQueueMs > this.o.downQueueMs && !draining && canDown) return this.down(this.current + 1, now);
    if (queueMs >= this.o.goodQueueMs) {
      this.goodSince = undefined;
      return this.current;
    }
    this.goodSince ??= now;
    if (this.current > 0 && now - this.goodSince >= this.upHold && now - this.lastSwitchAt >= this.upHold) {
      // Only when the link was last seen carrying the next rendition, or was never seen limited.
      const up = this.ratesBps[this.current - 1]!;
      if (this.capacityBps === undefined || this.capacityBps >= up || now - this.lastSwitchAt >= 2 * this.upHold) {
        this.lastUpAt = now;
        this.capacityBps = undefined; // re-measured on the new rendition
        return this.switchTo(this.current - 1, now);
      }
    }
    return this.current;
  }

  /** Down to at least `atLeast`: the best rendition that fits 90% of the link's known rate. */
  private down(atLeast: number, now: number): number {
    let next = atLeast;
    if (this.capacityBps !== undefined) {
      const fits = this.ratesBps.findIndex((r) => r <= 0.9 * this.capacityBps!);
      next = Math.max(next, fits < 0 ? this.ratesBps.length - 1 : fits);
    }
    // An up undone soon was a failed probe (counted once, not again for the steps after it).
    if (now - this.lastUpAt < UNDONE_MS) {
      this.upHold = Math.min(this.o.maxUpHoldMs, this.upHold * 2);
      this.lastUpAt = -Infinity;
    }
    return this.switchTo(next, now);
  }

  private switchTo(index: number, now: number): number {
    this.current = index;
    this.lastSwitchAt = now;
    this.goodSince = undefined;
    this.short = [];
    return index;
  }
}
