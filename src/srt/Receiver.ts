/**
 * The live-mode receiving side of one SRT connection, sans-IO: data packets and `now` (ms) in;
 * delivered messages, loss ranges to NAK and the next wake-up time out.
 *
 * Packets are kept by sequence number until delivered in order. A gap is NAKed at once and
 * again every NAK interval while it stays open. TSBPD gives every packet a play time,
 * `base + timestamp + latency`, where `base` maps the sender's clock onto ours at the handshake.
 * In `hold` mode (what libsrt does for an application) a packet is delivered at its play time;
 * otherwise (a server forwarding to players that have buffers of their own) it is delivered as
 * soon as everything before it is in, and the latency is only the deadline for a repair: when
 * the packet after a gap reaches its play time (and has waited the latency since it arrived,
 * see repairDeadline) the gap is given up (TLPKTDROP), counted, and delivery goes on. Memory is bounded by the flow window: a packet further ahead is dropped.
 */
import { Boundary, type DataPacket } from './packet.js';
import { seqAdd, seqDiff } from './seq.js';
import { toRanges, type SeqRange } from './control.js';

export interface ReceiverOptions {
  isn: number;
  latencyMs: number;
  /** Deliver at play time (libsrt behaviour) rather than as soon as in order. */
  hold: boolean;
  /** Packets held at most (the flow window we announced). */
  window: number;
  /** Local time (ms) of the sender's timestamp 0. */
  baseMs: number;
  /** Longest message, in packets (longer ones are dropped). Default 1024. */
  maxMessagePackets?: number;
}

export interface ReceiverStats {
  packets: number;
  bytes: number;
  retransmitted: number;
  duplicates: number;
  /** Packets that came after their place had been delivered or given up. */
  late: number;
  /** Packets beyond the flow window. */
  beyondWindow: number;
  /** Sequence numbers detected missing (each counted once). */
  lossDetected: number;
  /** Missing packets given up at their deadline (TLPKTDROP) or dropped by the sender. */
  dropped: number;
  /** Messages delivered. */
  delivered: number;
  /** Packets of a message whose first packet was never seen, or an over-long message. */
  orphans: number;
}

interface Held {
  payload: Uint8Array;
  /** Sender timestamp, µs, unwrapped across the 32-bit rollover. */
  ts: number;
  boundary: Boundary;
  arrivedAt: number;
}

const WRAP = 2 ** 32;

export class Receiver {
  readonly stats: ReceiverStats = { packets: 0, bytes: 0, retransmitted: 0, duplicates: 0, late: 0, beyondWindow: 0, lossDetected: 0, dropped: 0, delivered: 0, orphans: 0 };
  private readonly held = new Map<number, Held>();
  /** Missing sequence numbers, in increasing order (gaps are found in order): seq -> last NAK time. */
  private readonly loss = new Map<number, number>();
  private nextDeliver: number;
  private maxSeq: number;
  private tsRef = 0;
  private wakeAt = Infinity;
  private readonly maxMessage: number;

  constructor(private readonly o: ReceiverOptions) {
    this.nextDeliver = o.isn;
    this.maxSeq = seqAdd(o.isn, -1);
    this.maxMessage = o.maxMessagePackets ?? 1024;
  }

  /** Sequence number after the last packet received in order (what an ACK acknowledges). */
  ackSeq(): number {
    for (const seq of this.loss.keys()) return seq;
    return seqAdd(this.maxSeq, 1);
  }

  /** Packets held (for the ACK's available-buffer field). */
  get heldPackets(): number {
    return this.held.size;
  }

  get lossCount(): number {
    return this.loss.size;
  }

  /** When the next held packet's play time (or repair deadline) comes, ms; Infinity if none. */
  nextWake(): number {
    return this.wakeAt;
  }

  /** Takes one data packet (already decrypted). Returns ranges newly found missing (to NAK at once). */
  onData(p: DataPacket, now: number): SeqRange[] {
    this.stats.packets++;
    this.stats.bytes += p.payload.length;
    if (p.retransmitted) this.stats.retransmitted++;
    const d = seqDiff(this.nextDeliver, p.seq);
    if (d < 0) {
      this.stats.late++;
      return [];
    }
    if (d >= this.o.window) {
      this.stats.beyondWindow++;
      return [];
    }
    if (this.held.has(p.seq)) {
      this.stats.duplicates++;
      return [];
    }
    this.held.set(p.seq, { payload: p.payload.slice(), ts: this.unwrap(p.timestamp), boundary: p.boundary, arrivedAt: now });
    const ahead = seqDiff(this.maxSeq, p.seq);
    const fresh: number[] = [];
    if (ahead > 0) {
      for (let s = seqAdd(this.maxSeq, 1); s !== p.seq; s = seqAdd(s, 1)) {
        this.loss.set(s, now);
        fresh.push(s);
      }
      this.stats.lossDetected += fresh.length;
      this.maxSeq = p.seq;
    } else if (!this.loss.delete(p.seq)) {
      // Neither new nor a repair: a packet that was given up by DROPREQ and came anyway.
      this.stats.late++;
      this.held.delete(p.seq);
      return [];
    }
    return toRanges(fresh);
  }

  /** The sender gave up first..last (DROPREQ): stop asking for them. */
  onDropRequest([first, last]: SeqRange): void {
    const n = seqDiff(first, last);
    if (n < 0 || n > this.o.window) return;
    for (let s = first, i = 0; i <= n; s = seqAdd(s, 1), i++) this.loss.delete(s);
  }

  /**
   * The missing ranges due for another NAK (last asked `intervalMs` ago or more), marked as
   * asked now. At most `max` sequence numbers.
   */
  dueNaks(now: number, intervalMs: number, max = 1000): SeqRange[] {
    const due: number[] = [];
    for (const [seq, at] of this.loss) {
      if (now - at < intervalMs) continue;
      this.loss.set(seq, now);
      due.push(seq);
      if (due.length >= max) break;
    }
    return toRanges(due);
  }

  /** Messages deliverable at `now`, in order. Also sets nextWake(). */
  deliver(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.wakeAt = Infinity;
    for (;;) {
      const head = this.held.get(this.nextDeliver);
      if (!head) {
        if (!this.waitOrSkip(this.nextDeliver, now)) break;
        continue;
      }
      if (this.o.hold && this.playTime(head) > now) {
        this.wakeAt = this.playTime(head);
        break;
      }
      if (head.boundary === Boundary.Solo) {
        out.push(head.payload);
        this.take(1);
        this.stats.delivered++;
        continue;
      }
      if (head.boundary !== Boundary.First) {
        this.stats.orphans++;
        this.take(1);
        continue;
      }
      // First packet of a multi-packet message: deliver once it is whole up to its Last.
      const parts: Uint8Array[] = [head.payload];
      let s = seqAdd(this.nextDeliver, 1);
      let missing: number | undefined;
      let complete = false;
      while (parts.length < this.maxMessage) {
        const p = this.held.get(s);
        if (!p) {
          missing = s;
          break;
        }
        if (p.boundary === Boundary.First || p.boundary === Boundary.Solo) break; // a new message began: this one is broken
        parts.push(p.payload);
        if (p.boundary === Boundary.Last) {
          complete = true;
          break;
        }
        s = seqAdd(s, 1);
      }
      if (complete) {
        out.push(concat(parts));
        this.take(parts.length);
        this.stats.delivered++;
        continue;
      }
      if (missing !== undefined && !this.waitOrSkip(missing, now)) break;
      if (missing === undefined) {
        this.stats.orphans += parts.length;
        this.take(parts.length);
      }
    }
    return out;
  }

  /**
   * `seq` is missing. Returns true if delivery may go on (it was skipped), false to wait (the
   * wake-up time is set to when it will be given up).
   */
  private waitOrSkip(seq: number, now: number): boolean {
    if (seqDiff(seq, this.maxSeq) < 0) return false; // nothing held after it
    let next = seqAdd(seq, 1);
    for (let i = 0; !this.held.has(next) && i < this.o.window; i++) next = seqAdd(next, 1);
    if (!this.held.has(next)) return false;
    // Dropped by the sender (no longer in the loss list, and acknowledged past): skip at once.
    const given = !this.loss.has(seq) && seqDiff(seq, this.ackSeq()) > 0;
    const deadline = this.repairDeadline(this.held.get(next)!);
    if (!given && deadline > now) {
      this.wakeAt = Math.min(this.wakeAt, deadline);
      return false;
    }
    this.skipTo(next);
    return true;
  }

  /** Gives up everything before `seq` (TLPKTDROP), counting the packets never received. */
  private skipTo(seq: number): void {
    while (this.nextDeliver !== seq) {
      if (this.held.delete(this.nextDeliver)) this.stats.orphans++;
      else this.stats.dropped++;
      this.loss.delete(this.nextDeliver);
      this.nextDeliver = seqAdd(this.nextDeliver, 1);
    }
  }

  private take(n: number): void {
    for (let i = 0; i < n; i++) {
      this.held.delete(this.nextDeliver);
      this.nextDeliver = seqAdd(this.nextDeliver, 1);
    }
  }

  /**
   * When a gap in front of `h` is given up. In hold mode, h's play time (TSBPD). Forwarding, the
   * later of that and h's arrival + latency: on a steady path the two agree (both are "sent +
   * one-way + latency"), but when the path or this process stalls and packets come late, the
   * play time would eat the repair budget while nothing is being played out here anyway.
   */
  private repairDeadline(h: Held): number {
    const play = this.playTime(h);
    return this.o.hold ? play : Math.max(play, h.arrivedAt + this.o.latencyMs);
  }

  private playTime(h: Held): number {
    return this.o.baseMs + h.ts / 1000 + this.o.latencyMs;
  }

  private unwrap(ts: number): number {
    let full = this.tsRef - (this.tsRef % WRAP) + ts;
    if (full < this.tsRef - WRAP / 2) full += WRAP;
    else if (full > this.tsRef + WRAP / 2 && full >= WRAP) full -= WRAP;
    if (full > this.tsRef) this.tsRef = full;
    return full;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
