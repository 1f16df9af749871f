/**
 * The live-mode sending side of one SRT connection, sans-IO: payloads and `now` (ms) in,
 * datagrams out. Every packet is kept until acknowledged, resent when NAKed, and dropped
 * (TLPKTDROP, sender side) once it is too old to arrive in time for the peer's play-out.
 * Bounded by `maxPackets`: a peer that acknowledges nothing cannot make it grow.
 */
import { Boundary, HEADER_SIZE, markRetransmitted, writeDataHeader } from './packet.js';
import type { PayloadCipher } from './crypto/PayloadCipher.js';
import { nextMsgNo, seqAdd, seqDiff } from './seq.js';
import type { SeqRange } from './control.js';

export interface SenderOptions {
  isn: number;
  peerSocket: number;
  /** The peer's play-out delay, ms: a packet older than this (plus a margin) is not sent again. */
  peerLatencyMs: number;
  /** Local time (ms) of timestamp 0. */
  startMs: number;
  maxPackets?: number;
  cipher?: PayloadCipher;
}

export interface SenderStats {
  packets: number;
  bytes: number;
  retransmitted: number;
  /** Packets dropped unacknowledged: too late, or the buffer was full. */
  dropped: number;
}

interface Sent {
  datagram: Uint8Array;
  firstSentAt: number;
  lastSentAt: number;
}

/** libsrt's minimum sender drop threshold is 1 s beyond the latency. */
const DROP_MARGIN_MS = 1000;

export class Sender {
  readonly stats: SenderStats = { packets: 0, bytes: 0, retransmitted: 0, dropped: 0 };
  /** Insertion order is sequence order. */
  private readonly sent = new Map<number, Sent>();
  private nextSeq: number;
  private msgNo = 1;
  private queuedBytes = 0;
  private readonly maxPackets: number;

  constructor(private readonly o: SenderOptions) {
    this.nextSeq = o.isn;
    this.maxPackets = o.maxPackets ?? 8192;
  }

  /** Payload bytes sent and not yet acknowledged. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  get inFlight(): number {
    return this.sent.size;
  }

  /** One message of at most one payload (callers cut to 1316 bytes). */
  send(payload: Uint8Array, now: number): Uint8Array {
    const seq = this.nextSeq;
    this.nextSeq = seqAdd(seq, 1);
    const key = this.o.cipher?.sendKey ?? 0;
    const body = this.o.cipher ? this.o.cipher.apply(key, seq, payload)! : payload;
    const datagram = new Uint8Array(HEADER_SIZE + body.length);
    writeDataHeader(datagram, {
      seq,
      boundary: Boundary.Solo,
      inOrder: false,
      key,
      retransmitted: false,
      msgNo: this.msgNo,
      timestamp: Math.max(0, Math.round((now - this.o.startMs) * 1000)) >>> 0,
      dstSocket: this.o.peerSocket,
    });
    datagram.set(body, HEADER_SIZE);
    this.msgNo = nextMsgNo(this.msgNo);
    if (this.sent.size >= this.maxPackets) this.dropOldest();
    this.sent.set(seq, { datagram, firstSentAt: now, lastSentAt: now });
    this.queuedBytes += payload.length;
    this.stats.packets++;
    this.stats.bytes += payload.length;
    return datagram;
  }

  /** Everything before `ackSeq` arrived. */
  onAck(ackSeq: number): void {
    for (const [seq, s] of this.sent) {
      if (seqDiff(seq, ackSeq) <= 0) break;
      this.sent.delete(seq);
      this.queuedBytes -= s.datagram.length - HEADER_SIZE;
    }
  }

  /**
   * The datagrams to resend for a NAK. A packet resent less than `minGapMs` ago is not sent
   * again (a periodic NAK crossing the repair on the way).
   */
  onNak(ranges: readonly SeqRange[], now: number, minGapMs: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [first, last] of ranges) {
      const n = seqDiff(first, last);
      for (let i = 0, seq = first; i <= n && out.length < this.maxPackets; i++, seq = seqAdd(seq, 1)) {
        const s = this.sent.get(seq);
        if (!s || now - s.lastSentAt < minGapMs) continue;
        s.lastSentAt = now;
        markRetransmitted(s.datagram);
        out.push(s.datagram);
        this.stats.retransmitted++;
      }
    }
    return out;
  }

  /** Drops what the peer would play too late anyway; returns the range dropped (for a DROPREQ), if any. */
  dropLate(now: number): SeqRange | undefined {
    const limit = Math.max(this.o.peerLatencyMs, DROP_MARGIN_MS) + 20;
    let first: number | undefined;
    let last: number | undefined;
    for (const [seq, s] of this.sent) {
      if (now - s.firstSentAt <= limit) break;
      first ??= seq;
      last = seq;
      this.sent.delete(seq);
      this.queuedBytes -= s.datagram.length - HEADER_SIZE;
      this.stats.dropped++;
    }
    return first === undefined ? undefined : [first, last!];
  }

  /** When the oldest packet becomes too late, ms. */
  nextWake(): number {
    for (const s of this.sent.values()) return s.firstSentAt + Math.max(this.o.peerLatencyMs, DROP_MARGIN_MS) + 21;
    return Infinity;
  }

  private dropOldest(): void {
    for (const [seq, s] of this.sent) {
      this.sent.delete(seq);
      this.queuedBytes -= s.datagram.length - HEADER_SIZE;
      this.stats.dropped++;
      return;
    }
  }
}
