/**
 * How busy this process's event loop is: its utilization (the share of time spent running
 * callbacks rather than waiting in the poll) over each SAMPLE_MS, with hysteresis so a loop near
 * the line does not flip every sample. Viewers read `busy` to trade a bounded delay for fewer
 * socket writes (FlvSubscriber.send): on an idle server every frame leaves at once; on a
 * saturated one each write is work taken from every other connection, and a frame held for
 * 100 ms to leave with the next two costs its viewer 100 ms where a loop run at 100% costs
 * everyone its queueing delay.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

const SAMPLE_MS = 500;
/** Busy from this utilization, idle again below OFF: the gap absorbs what merging itself saves. */
const ON = 0.8;
const OFF = 0.5;

export class LoopLoad {
  busy = false;
  /** The last sample's utilization, 0..1. */
  utilization = 0;
  /** Times the loop went busy (each a switch to merged writes). */
  busyTransitions = 0;
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private timer: NodeJS.Timeout | undefined;

  /** Samples the loop by itself every SAMPLE_MS (timer unref'd); without it, feed update(). */
  start(): this {
    this.timer ??= setInterval(() => {
      const now = performance.eventLoopUtilization();
      this.update(performance.eventLoopUtilization(now, this.last).utilization);
      this.last = now;
    }, SAMPLE_MS);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  update(utilization: number): void {
    this.utilization = Number.isFinite(utilization) ? Math.min(1, Math.max(0, utilization)) : 0;
    if (!this.busy && this.utilization >= ON) {
      this.busy = true;
      this.busyTransitions++;
    } else if (this.busy && this.utilization <= OFF) this.busy = false;
  }
}
