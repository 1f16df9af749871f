/**
 * One established SRT connection, sans-IO: parsed packets and `now` (ms) in; datagrams for the
 * peer, delivered messages and a wake-up time out. The Listener makes it after a valid
 * conclusion handshake. A publish connection receives (Receiver: ACK every 10 ms, ACKACK ->
 * RTT, NAK on a gap and periodically, TSBPD/TLPKTDROP); a request connection sends (Sender:
 * resend on NAK, drop too late). Both keep alive after 1 s of silence and end on SHUTDOWN
 * or after `idleTimeoutMs` without a packet from the peer.
 */
import { buildAckCif, parseAckCif, parseDropReqCif, parseNakCif, buildNakCif, type SeqRange } from './control.js';
import { buildKm, parseKm, unwrapKeys } from './crypto/KeyMaterial.js';
import type { PayloadCipher } from './crypto/PayloadCipher.js';
import { buildControl, ControlType, SrtParseError, type ControlPacket, type DataPacket, type Packet } from './packet.js';
import { Receiver, type ReceiverStats } from './Receiver.js';
import { Rtt } from './Rtt.js';
import { Sender, type SenderStats } from './Sender.js';

export interface ConnectionOptions {
  localSocket: number;
  peerSocket: number;
  isn: number;
  /** 'receive' for a publishing caller, 'send' for a requesting one. */
  role: 'receive' | 'send';
  /** The receiving delay agreed in the handshake, ms. */
  recvLatencyMs: number;
  /** The peer's receiving delay, ms (what our sent packets must meet). */
  peerLatencyMs: number;
  /** Local time our timestamps count from (the conclusion's arrival), ms. */
  startMs: number;
  /** Local time of the peer's timestamp 0, ms. */
  peerBaseMs: number;
  hold: boolean;
  window: number;
  cipher?: PayloadCipher;
  passphrase?: string;
  idleTimeoutMs: number;
}

export interface ConnectionStats {
  rttMs: number;
  rttVarMs: number;
  receiver: ReceiverStats;
  sender: SenderStats;
  /** Data packets we could not decrypt (no key, or plain text where a key was agreed). */
  undecryptable: number;
  controlDropped: number;
  naksSent: number;
  acksSent: number;
}

const ACK_INTERVAL_MS = 10;
const KEEPALIVE_MS = 1000;
const MIN_NAK_INTERVAL_MS = 20;
const ACK_HISTORY = 1024;

export class Connection {
  readonly receiver: Receiver;
  readonly sender: Sender;
  readonly rtt = new Rtt();
  closedReason: string | undefined;
  private readonly out: Uint8Array[] = [];
  private readonly messages: Uint8Array[] = [];
  private lastRecvAt: number;
  private lastSentAt: number;
  private nextAckAt: number;
  private nextNakAt: number;
  private ackNo = 0;
  private lastAckSent = -1;
  private readonly ackTimes = new Map<number, number>();
  private undecryptable = 0;
  private controlDropped = 0;
  private naksSent = 0;
  private acksSent = 0;
  private rate = { at: 0, packets: 0, bytes: 0, pps: 0, bps: 0 };

  constructor(readonly o: ConnectionOptions) {
    this.receiver = new Receiver({ isn: o.isn, latencyMs: o.recvLatencyMs, hold: o.hold, window: o.window, baseMs: o.peerBaseMs });
    const cipher = o.cipher;
    this.sender = new Sender({ isn: o.isn, peerSocket: o.peerSocket, peerLatencyMs: o.peerLatencyMs, startMs: o.startMs, ...(cipher ? { cipher } : {}) });
    this.lastRecvAt = o.startMs;
    this.lastSentAt = o.startMs;
    this.nextAckAt = o.startMs + ACK_INTERVAL_MS;
    this.nextNakAt = o.startMs + MIN_NAK_INTERVAL_MS;
    this.rate.at = o.startMs;
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  /** A packet addressed to this connection. Malformed control packets are dropped and counted. */
  handle(p: Packet, now: number): void {
    if (this.isClosed) return;
    this.lastRecvAt = now;
    if (!p.control) return this.data(p, now);
    try {
      this.controlPacket(p, now);
    } catch (err) {
      if (!(err instanceof SrtParseError)) throw err;
      this.controlDropped++;
    }
  }

  /** Sends one payload (request role). */
  send(payload: Uint8Array, now: number): void {
    if (this.isClosed) return;
    this.emit(this.sender.send(payload, now), now);
  }

  /** Runs the timers due at `now`. */
  poll(now: number): void {
    if (this.isClosed) return;
    if (now - this.lastRecvAt >= this.o.idleTimeoutMs) return this.end(`peer silent for ${Math.round(now - this.lastRecvAt)} ms`, now, false);
    if (this.o.role === 'receive') {
      this.deliver(now);
      if (now >= this.nextAckAt) {
        this.nextAckAt = now + ACK_INTERVAL_MS;
        this.ack(now);
      }
      // Each missing packet is asked for again one NAK interval after it was last asked for,
      // checked every 20 ms: one timer for the whole list (as libsrt has) would add up to a
      // whole interval of phase to a loss found just after it fired.
      if (now >= this.nextNakAt) {
        this.nextNakAt = now + MIN_NAK_INTERVAL_MS;
        const due = this.receiver.dueNaks(now, this.nakIntervalMs());
        if (due.length) this.nak(due, now);
      }
    } else {
      this.sender.dropLate(now);
    }
    if (now - this.lastSentAt >= KEEPALIVE_MS) this.emit(this.control(ControlType.Keepalive, 0, 0, now), now);
  }

  nextWake(): number {
    if (this.isClosed) return Infinity;
    let t = Math.min(this.lastSentAt + KEEPALIVE_MS, this.lastRecvAt + this.o.idleTimeoutMs);
    if (this.o.role === 'receive') t = Math.min(t, this.nextAckAt, this.receiver.lossCount > 0 ? this.nextNakAt : Infinity, this.receiver.nextWake());
    else t = Math.min(t, this.sender.nextWake());
    return t;
  }

  drainDatagrams(): Uint8Array[] {
    return this.out.splice(0);
  }

  drainMessages(): Uint8Array[] {
    return this.messages.splice(0);
  }

  /** Ends the connection, telling the peer (SHUTDOWN). Idempotent. */
  close(reason: string, now: number): void {
    this.end(reason, now, true);
  }

  stats(): ConnectionStats {
    return {
      rttMs: this.rtt.rttUs / 1000,
      rttVarMs: this.rtt.varUs / 1000,
      receiver: { ...this.receiver.stats },
      sender: { ...this.sender.stats },
      undecryptable: this.undecryptable,
      controlDropped: this.controlDropped,
      naksSent: this.naksSent,
      acksSent: this.acksSent,
    };
  }

  private end(reason: string, now: number, tell: boolean): void {
    if (this.isClosed) return;
    if (tell) this.emit(this.control(ControlType.Shutdown, 0, 0, now, new Uint8Array(4)), now);
    this.closedReason = reason;
  }

  private data(p: DataPacket, now: number): void {
    if (this.o.role !== 'receive') return void this.controlDropped++;
    const c = this.o.cipher;
    if (c) {
      const plain = p.key === 0 ? undefined : c.apply(p.key, p.seq, p.payload);
      if (!plain) return void this.undecryptable++;
      p = { ...p, payload: plain };
    } else if (p.key !== 0) return void this.undecryptable++;
    this.rate.packets++;
    this.rate.bytes += p.payload.length;
    const fresh = this.receiver.onData(p, now);
    if (fresh.length) this.nak(fresh, now);
    this.deliver(now);
  }

  private deliver(now: number): void {
    for (const m of this.receiver.deliver(now)) this.messages.push(m);
  }

  private controlPacket(p: ControlPacket, now: number): void {
    switch (p.type) {
      case ControlType.Keepalive:
        return;
      case ControlType.Ack: {
        const a = parseAckCif(p.cif);
        this.sender.onAck(a.lastAckSeq);
        if (a.rttUs !== undefined) this.rtt.set(a.rttUs, a.rttVarUs ?? a.rttUs / 2);
        // Light ACKs (4 bytes) are not answered (libsrt answers full ACKs only).
        if (p.cif.length >= 16) this.emit(this.control(ControlType.AckAck, 0, p.info, now), now);
        return;
      }
      case ControlType.AckAck: {
        const sentAt = this.ackTimes.get(p.info);
        if (sentAt === undefined) return;
        this.ackTimes.delete(p.info);
        this.rtt.sample((now - sentAt) * 1000);
        return;
      }
      case ControlType.Nak: {
        const resend = this.sender.onNak(parseNakCif(p.cif), now, Math.min(this.rtt.rttUs / 2000, 100));
        for (const d of resend) this.emit(d, now);
        return;
      }
      case ControlType.DropReq:
        return this.receiver.onDropRequest(parseDropReqCif(p.cif));
      case ControlType.Shutdown:
        this.closedReason = 'peer shut down';
        return;
      case ControlType.User:
        if (p.subtype === 3) return this.keyRefresh(p.cif, now);
        return;
      default:
        this.controlDropped++;
    }
  }

  /** An in-session KMREQ (key refresh): take the new key(s) and echo the message as KMRSP. */
  private keyRefresh(cif: Uint8Array, now: number): void {
    const c = this.o.cipher;
    if (!c || this.o.passphrase === undefined) return void this.controlDropped++;
    const km = parseKm(cif);
    const keys = unwrapKeys(km, this.o.passphrase);
    if (!keys) return void this.controlDropped++;
    c.update(km.salt, keys);
    this.emit(this.control(ControlType.User, 4, 0, now, buildKm(km)), now);
  }

  private ack(now: number): void {
    const seq = this.receiver.ackSeq();
    if (seq === this.lastAckSent) return;
    this.lastAckSent = seq;
    const elapsed = now - this.rate.at;
    if (elapsed >= 1000) {
      this.rate.pps = (this.rate.packets * 1000) / elapsed;
      this.rate.bps = (this.rate.bytes * 1000) / elapsed;
      this.rate.at = now;
      this.rate.packets = 0;
      this.rate.bytes = 0;
    }
    this.ackNo = (this.ackNo + 1) >>> 0 || 1;
    this.ackTimes.set(this.ackNo, now);
    if (this.ackTimes.size > ACK_HISTORY) for (const k of this.ackTimes.keys()) { this.ackTimes.delete(k); break; }
    const cif = buildAckCif({
      lastAckSeq: seq,
      rttUs: Math.round(this.rtt.rttUs),
      rttVarUs: Math.round(this.rtt.varUs),
      availableBuffer: Math.max(2, this.o.window - this.receiver.heldPackets),
      packetsPerSecond: Math.round(this.rate.pps),
      capacityPps: Math.max(1000, Math.round(this.rate.pps * 4)),
      bytesPerSecond: Math.round(this.rate.bps),
    });
    this.acksSent++;
    this.emit(this.control(ControlType.Ack, 0, this.ackNo, now, cif), now);
  }

  private nak(ranges: SeqRange[], now: number): void {
    this.naksSent++;
    this.emit(this.control(ControlType.Nak, 0, 0, now, buildNakCif(ranges)), now);
  }

  private nakIntervalMs(): number {
    return Math.max(MIN_NAK_INTERVAL_MS, (this.rtt.rttUs + 4 * this.rtt.varUs) / 2000);
  }

  private control(type: number, subtype: number, info: number, now: number, cif?: Uint8Array): Uint8Array {
    return buildControl(type, subtype, info, this.timestamp(now), this.o.peerSocket, cif);
  }

  private timestamp(now: number): number {
    return Math.max(0, Math.round((now - this.o.startMs) * 1000)) >>> 0;
  }

  private emit(d: Uint8Array, now: number): void {
    this.out.push(d);
    this.lastSentAt = now;
  }
}
