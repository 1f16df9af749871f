/**
 * Which rendition a viewer of `?quality=auto` should get, from how fast it drains what the
 * server queues for it. Sans-IO: the caller samples the viewer (bytes handed to its queue so
 * far, bytes still queued: Node's buffer, the kernel's unacknowledged bytes, the tags waiting)
 * with `now`, and gets the index of the rendition to switch to at the next keyframe.
 *
 * Down fast: once the queue holds more than `downQueueMs` of the current rendition on two
 * samples in a row and is not shrinking (a keyframe's burst, the backlog of the previous
 * step, is not congestion), the
 * viewer moves to the best rendition that fits 90% of the rate it was seen to drain at while
 * it had a queue (one step down when no such rate is known yet). Up carefully: only after the
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

export class QualityPicker {
  /** Index into the rates (0 = best) the viewer should be on. */
  current: number;
  /** Rate the viewer drained at while network-limited, bit/s (smoothed); undefined until seen. */
  capacityBps: number | undefined;
  private last: { at: number; sent: number; pending: number } | undefined;
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

  sample(now: number, sentBytes: number, pendingBytes: number): number {
    const l = this.last;
    this.last = { at: now, sent: sentBytes, pending: pendingBytes };
    // A join starts with a GOP replay in the queue: the first settleMs are not a verdict.
    if (!l) this.lastSwitchAt = now;
    if (!l || now <= l.at) return this.current;
    const drainedBps = ((sentBytes - l.sent - (pendingBytes - l.pending)) * 8 * 1000) / (now - l.at);
    if (pendingBytes >= LIMITED_BYTES && l.pending >= LIMITED_BYTES && drainedBps >= 0) {
      this.capacityBps = this.capacityBps === undefined ? drainedBps : 0.7 * this.capacityBps + 0.3 * drainedBps;
    }
    const rate = this.ratesBps[this.current]!;
    const queueMs = (pendingBytes * 8 * 1000) / rate;
    const prevQueueMs = (l.pending * 8 * 1000) / rate;
    // Two samples in a row over the mark: one burst (a keyframe) is not congestion.
    // A queue that shrinks is draining (the backlog of a step down, of a failed probe): not a reason for another step.
    const draining = pendingBytes < l.pending;
    if (queueMs > this.o.downQueueMs && prevQueueMs > this.o.downQueueMs && !draining && now - this.lastSwitchAt >= this.o.settleMs && this.current < this.ratesBps.length - 1) {
      let next = this.current + 1;
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

  private switchTo(index: number, now: number): number {
    this.current = index;
    this.lastSwitchAt = now;
    this.goodSince = undefined;
    return index;
  }
}
