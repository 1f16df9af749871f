import { TRACE_PACKET_BYTES, type Trace } from './Trace.js';

/**
 * The service side of a FIFO bottleneck: when does a packet that is ready at `ready` leave,
 * given the link is busy until the previous departure? Departures are computed when a packet
 * arrives (a FIFO with known service is fully determined by then), which is what lets the
 * link model and the oracle share it.
 *
 * State is a plain cursor so a caller (the oracle) can try a placement and roll it back.
 */
export interface Cursor {
  /** Rate links: time the link is free. Trace links: index of the next unused opportunity. */
  pos: number;
}

export interface Bottleneck {
  /** Departure time of a packet of `size` bytes ready at `ready`; advances the cursor. */
  serve(cur: Cursor, ready: number, size: number): number;
  newCursor(): Cursor;
  /** Mean capacity, bits per second (for reports). */
  readonly meanBps: number;
}

/** A constant bit rate; Infinity means no limit. */
export class RateBottleneck implements Bottleneck {
  constructor(readonly meanBps: number) {}

  newCursor(): Cursor {
    return { pos: -Infinity };
  }

  serve(cur: Cursor, ready: number, size: number): number {
    if (!Number.isFinite(this.meanBps)) return ready;
    const start = Math.max(ready, cur.pos);
    cur.pos = start + (size * 8 * 1000) / this.meanBps;
    return cur.pos;
  }
}

/**
 * Mahimahi replay: each opportunity carries one packet of up to 1500 bytes (a bigger one takes
 * several). Opportunities that pass with an empty queue are lost, as on the real link.
 * `offsetMs` is where in the trace time 0 of the run falls.
 */
export class TraceBottleneck implements Bottleneck {
  readonly meanBps: number;
  private readonly n: number;

  constructor(
    private readonly trace: Trace,
    private readonly offsetMs = 0,
  ) {
    this.n = trace.times.length;
    this.meanBps = (this.n * TRACE_PACKET_BYTES * 8 * 1000) / trace.periodMs;
  }

  newCursor(): Cursor {
    return { pos: this.firstAtOrAfter(0) };
  }

  /** Run time of opportunity g (a global index over repeated periods). */
  timeOf(g: number): number {
    const cycle = Math.floor(g / this.n);
    return cycle * this.trace.periodMs + this.trace.times[g - cycle * this.n]! - this.offsetMs;
  }

  serve(cur: Cursor, ready: number, size: number): number {
    let g = Math.max(cur.pos, this.firstAtOrAfter(ready));
    const slots = Math.max(1, Math.ceil(size / TRACE_PACKET_BYTES));
    g += slots - 1;
    cur.pos = g + 1;
    return this.timeOf(g);
  }

  /** Global index of the first opportunity at run time >= t. */
  firstAtOrAfter(t: number): number {
    const local = t + this.offsetMs;
    const cycle = Math.max(0, Math.floor(local / this.trace.periodMs));
    const within = local - cycle * this.trace.periodMs;
    const times = this.trace.times;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! < within) lo = mid + 1;
      else hi = mid;
    }
    return cycle * this.n + lo;
  }
}
