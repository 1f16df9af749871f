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
  /** Rate links: time the link is free. Trace links: index of the opportunity last served from. */
  pos: number;
  /** Trace links: bytes of opportunity `pos` already used (0 for rate links). */
  used: number;
}

/** A trace opportunity's byte budget, as Mahimahi's PACKET_SIZE (1500-byte MTU + TUN framing). */
export const OPPORTUNITY_BYTES = 1504;
/** What a trace link charges a datagram beyond its UDP payload: IPv4 20 + UDP 8 + TUN 4. */
export const PER_PACKET_BYTES = 32;
/** The largest UDP payload that fits one opportunity. */
export const FULL_PAYLOAD_BYTES = OPPORTUNITY_BYTES - PER_PACKET_BYTES;

export interface Bottleneck {
  /** Departure time of a packet of `size` bytes ready at `ready`; advances the cursor. */
  serve(cur: Cursor, ready: number, size: number): number;
  newCursor(): Cursor;
  /** Mean capacity, bits per second (for reports). */
  readonly meanBps: number;
  /** Mean capacity between run times a and b (ms), bits per second. */
  meanBpsBetween(a: number, b: number): number;
}

/** A constant bit rate; Infinity means no limit. */
export class RateBottleneck implements Bottleneck {
  constructor(readonly meanBps: number) {}

  newCursor(): Cursor {
    return { pos: -Infinity, used: 0 };
  }

  meanBpsBetween(): number {
    return this.meanBps;
  }

  serve(cur: Cursor, ready: number, size: number): number {
    if (!Number.isFinite(this.meanBps)) return ready;
    const start = Math.max(ready, cur.pos);
    cur.pos = start + (size * 8 * 1000) / this.meanBps;
    return cur.pos;
  }
}

/**
 * Mahimahi replay, byte for byte as its `LinkQueue::rationalize` (src/frontend/link_queue.cc):
 * each opportunity is a budget of OPPORTUNITY_BYTES that the packets queued at its time share;
 * a packet larger than what is left of it continues into the next opportunity, and what is
 * left when the queue runs empty is lost, as on the real link. A packet is charged its UDP
 * payload plus PER_PACKET_BYTES (IPv4 + UDP headers and the 4 bytes of TUN framing Mahimahi
 * reads with each packet), so a full 1500-byte IP packet takes exactly one opportunity and a
 * 200-byte audio packet about a seventh of one (the earlier replay burnt a whole opportunity
 * per packet: 50 audio packets a second cost 600 kbit/s of a trace).
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
    return { pos: this.firstAtOrAfter(0), used: 0 };
  }

  /** Run time of opportunity g (a global index over repeated periods). */
  timeOf(g: number): number {
    const cycle = Math.floor(g / this.n);
    return cycle * this.trace.periodMs + this.trace.times[g - cycle * this.n]! - this.offsetMs;
  }

  serve(cur: Cursor, ready: number, size: number): number {
    const first = this.firstAtOrAfter(ready);
    let g = cur.pos;
    let left = OPPORTUNITY_BYTES - cur.used;
    // The opportunity the cursor is in went by before this packet was queued (the queue ran
    // empty at it): its remainder is lost, service starts at the first one at or after `ready`.
    if (g < first || left <= 0) {
      g = Math.max(first, left <= 0 ? g + 1 : g);
      left = OPPORTUNITY_BYTES;
    }
    let need = size + PER_PACKET_BYTES;
    while (need > left) {
      need -= left;
      g++;
      left = OPPORTUNITY_BYTES;
    }
    cur.pos = g;
    cur.used = OPPORTUNITY_BYTES - (left - need);
    return this.timeOf(g);
  }

  /** Mean capacity between run times a and b (ms), bits per second, in IP bytes as meanBps. */
  meanBpsBetween(a: number, b: number): number {
    if (!(b > a)) return 0;
    const count = this.firstAtOrAfter(b) - this.firstAtOrAfter(a);
    return (count * TRACE_PACKET_BYTES * 8 * 1000) / (b - a);
  }

  /** Global index of the first opportunity at run time >= t. */
  firstAtOrAfter(t: number): number {
    const local = t + this.offsetMs;
    let cycle = Math.max(0, Math.floor(local / this.trace.periodMs));
    let within = local - cycle * this.trace.periodMs;
    // The period is the trace's last time, so a time on a period boundary is also that last
    // opportunity of the cycle before: look there first.
    if (within === 0 && cycle > 0) {
      cycle--;
      within = this.trace.periodMs;
    }
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
