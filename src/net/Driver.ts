/**
 * Runs any sans-IO state machine (api.ts `SansIo`) over real time: feeds it datagrams and
 * timeouts, drains what it wants to send to `transmit`, and keeps exactly one timer armed at
 * its next wake-up. The clock is `performance.now()` (monotonic ms) unless one is given.
 *
 * Calling rules: call `input` for every datagram received and `kick` after the application
 * queued something (openStream, send, close) so it goes out now rather than at the next timer.
 * `afterStep` runs after every step; the shells drain events there. Nothing here throws out of
 * a receive path: an exception from the machine or a hook is counted and logged once.
 */
import type { Datagram, SansIo } from '../transport/api.js';

export interface DriverOptions {
  machine: SansIo;
  transmit: (d: Datagram) => void;
  afterStep?: (now: number) => void;
  clock?: () => number;
  onError?: (err: unknown) => void;
}

/** Timers longer than this are re-armed in steps (setTimeout's range is 2^31 ms). */
const MAX_TIMER_MS = 60_000;
/** Upper bound of datagrams sent in one step so one busy machine cannot starve the event loop. */
const MAX_BURST = 4096;

export class Driver {
  readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stepping = false;
  private again = false;
  private closed = false;
  errors = 0;

  constructor(private readonly o: DriverOptions) {
    this.clock = o.clock ?? (() => performance.now());
  }

  input(path: string, data: Uint8Array): void {
    if (this.closed) return;
    try {
      this.o.machine.handleDatagram(this.clock(), path, data);
    } catch (e) {
      this.fail(e);
    }
    this.kick();
  }

  private soon = false;
  /**
   * kick() at the end of this turn, once however often it is asked: a server fanning a frame
   * out to N sessions of one machine then steps it once, not N times (each step polls the
   * machine's timers, drains, runs afterStep and re-arms the timer).
   */
  kickSoon(): void {
    if (this.soon || this.closed) return;
    this.soon = true;
    queueMicrotask(this.soonKick);
  }

  private readonly soonKick = (): void => {
    this.soon = false;
    this.kick();
  };

  /** Runs due timers, drains transmit, runs afterStep and re-arms the one timer. Re-entrant safe. */
  kick(): void {
    if (this.closed) return;
    if (this.stepping) {
      this.again = true;
      return;
    }
    this.stepping = true;
    try {
      do {
        this.again = false;
        this.step();
      } while (this.again && !this.closed);
    } finally {
      this.stepping = false;
    }
    this.arm();
  }

  private step(): void {
    const m = this.o.machine;
    const now = this.clock();
    try {
      const t = m.pollTimeout();
      if (t !== undefined && t <= now) m.handleTimeout(now);
      for (let i = 0; i < MAX_BURST; i++) {
        const d = m.pollTransmit(now);
        if (!d) break;
        this.o.transmit(d);
      }
      this.o.afterStep?.(now);
    } catch (e) {
      this.fail(e);
    }
  }

  private arm(): void {
    if (this.closed) return;
    let t: number | undefined;
    try {
      t = this.o.machine.pollTimeout();
    } catch (e) {
      this.fail(e);
    }
    const now = this.clock();
    const at = t === undefined ? Infinity : Math.min(t, now + MAX_TIMER_MS);
    if (at === this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.ceil(at - now)));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.kick();
  };

  /** Whether a timer is pending (for tests: no leaked handles after close). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  private fail(e: unknown): void {
    this.errors++;
    if (this.errors <= 1) this.o.onError?.(e);
  }

  /** Clears the timer; later input and kicks are ignored. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
