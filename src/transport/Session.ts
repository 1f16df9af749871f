/**
 * One end of a session (client or server role), implementing api.ts `Session`. A state
 * machine with no I/O: datagrams and `now` in; datagrams, wake-up times and events out.
 *
 * This class is the facade: the application's calls (openStream, send, addPath, close,
 * stats) are here, and the mechanisms live in session/:
 * - SessionState: what they share (paths, streams, send queue, events, counters);
 * - Handshaking: INITIAL / RETRY / SERVER HELLO / FINISHED, timeouts;
 * - Receiver: the receive checks (lengths, replay, AEAD, frame syntax) and frame dispatch;
 * - LossRecovery: the sent-packet history, ACK / NACK, loss detection, RTO, resends;
 * - PathHealth: paths going down, probes, re-admission, validation;
 * - MediaPaths: which paths carry media, pacing and windows, the rates reported;
 * - FecHooks: FEC blocks on the send path, recovery on the receive path;
 * - Feedback: FEEDBACK frames both ways;
 * - Packetizer: building and protecting PROTECTED packets (pollProtected);
 * - Stats: the counters and the stats() snapshot.
 */
import { MAX_FRAGMENTS } from '../wire/data.js';
import type { Datagram, MessageMeta, Session as ISession, SessionEvent, SessionStats, StreamOptions } from './api.js';
import type { Established } from './Handshake.js';
import { MAX_PACKET_NUMBER } from './crypto/PacketProtection.js';
import type { OutMessage } from './SendQueue.js';
import type { CommonOptions } from './options.js';
import { SessionState } from './session/SessionState.js';
import { Handshaking } from './session/Handshaking.js';
import { Receiver } from './session/Receiver.js';
import { LossRecovery } from './session/LossRecovery.js';
import { PathHealth } from './session/PathHealth.js';
import { MediaPaths } from './session/MediaPaths.js';
import { FecHooks } from './session/FecHooks.js';
import { Feedback } from './session/Feedback.js';
import { Packetizer } from './session/Packetizer.js';
import { sessionStats } from './session/Stats.js';

const MAX_QUEUE_BYTES = 32 * 1024 * 1024;

export interface SessionInit extends CommonOptions {
  role: 'client' | 'server';
  sessionId: bigint;
  now: number;
  path: string;
  psk: Uint8Array;
  identity?: Uint8Array;
  /** Server: keys from the accepted handshake, and the SERVER HELLO to resend on a repeated INITIAL. */
  established?: Established;
  serverHello?: Uint8Array;
  clientPublicKey?: Uint8Array;
  /** Client: accepts or refuses the server's static key (ClientOptions.checkServerKey). */
  checkServerKey?: (staticPublicKey: Uint8Array) => string | undefined;
}

/** Past this next packet number the session closes: room for the CLOSE, and no number (nonce) is ever used twice. */
const LAST_PACKET_NUMBER = MAX_PACKET_NUMBER - 16;

export class Session implements ISession {
  readonly id: bigint;
  readonly role: 'client' | 'server';
  /** The identity the client named in its hello (which pre-shared key authenticated it). */
  readonly identity: string;
  private readonly s: SessionState;
  private readonly hs: Handshaking;
  private readonly loss: LossRecovery;
  private readonly health: PathHealth;
  private readonly media: MediaPaths;
  private readonly fec: FecHooks;
  private readonly feedback: Feedback;
  private readonly rx: Receiver;
  private readonly tx: Packetizer;
  private nextStreamId: number;
  private nextShed = 0;

  constructor(init: SessionInit) {
    this.id = init.sessionId;
    this.role = init.role;
    this.identity = new TextDecoder().decode(init.identity ?? new Uint8Array(0));
    const s = (this.s = new SessionState(init));
    this.media = new MediaPaths(s);
    this.fec = new FecHooks(s, init.fecPolicy, (now, m) => this.retransmitRounds(now, m));
    this.loss = new LossRecovery(s, (now, f) => this.health.onProbeAcks(now, f));
    if (init.firstPacketNumber !== undefined) this.loss.nextPn = Math.max(1, Math.min(MAX_PACKET_NUMBER, Math.floor(init.firstPacketNumber)));
    this.health = new PathHealth(s, this.loss);
    this.feedback = new Feedback(s, init.now);
    this.nextStreamId = init.role === 'client' ? 0 : 1;
    const first = s.addPath(init.path);
    first.validated = true;
    first.state = 'active';
    first.lastReceived = init.now;
    this.hs = new Handshaking(s, init, init.now);
    this.rx = new Receiver(s, this.hs, this.loss, this.health, this.fec, this.feedback);
    this.tx = new Packetizer(s, this.hs, this.loss, this.health, this.media, this.fec, this.feedback);
  }

  // ---------------------------------------------------------------- public API

  pollEvent(): SessionEvent | undefined {
    return this.s.pollEvent();
  }

  /**
   * Called by every application call that can change what the session wants to send
   * (openStream, send, addPath, close): an Endpoint asks only touched sessions for their wake-up.
   */
  onAppCall: (() => void) | undefined;

  openStream(_now: number, options: StreamOptions): number {
    this.onAppCall?.();
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.s.outStreams.set(id, { id, options: { ...options }, nextMessageId: 0, waitingKeyframe: false, openAcked: false });
    this.s.pendingOpens.add(id);
    return id;
  }

  send(now: number, streamId: number, data: Uint8Array, meta: MessageMeta = {}): boolean {
    this.onAppCall?.();
    const s = this.s;
    const st = s.outStreams.get(streamId);
    if (!st || s.state === 'closing' || s.state === 'closed') return false;
    if (s.queue.bytes + data.length > MAX_QUEUE_BYTES) return false;
    const video = st.options.class === 'video';
    const deadlineStream = st.options.reliability === 'deadline';
    if (deadlineStream) s.counters.deadlineMessages++;
    if (video && st.waitingKeyframe) {
      if (!meta.keyframe) {
        s.emitDrop(st, st.nextMessageId++, meta, 'queue');
        return false;
      }
      st.waitingKeyframe = false;
    }
    if (deadlineStream && meta.deadline !== undefined && meta.deadline <= now) {
      s.emitDrop(st, st.nextMessageId++, meta, 'deadline');
      return false;
    }
    const room = this.tx.fragmentRoom();
    const count = Math.max(1, Math.ceil(data.length / room));
    if (count > MAX_FRAGMENTS) return false;
    const frags: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) frags[i] = data.subarray(i * room, Math.min(data.length, (i + 1) * room));
    const m: OutMessage = {
      stream: st, id: st.nextMessageId++, meta: { ...meta }, frags, next: 0,
      acked: new Uint8Array(count), ackedCount: 0, done: false, bytes: data.length,
    };
    s.queue.push(m);
    this.media.countOffered(now, data.length);
    if (deadlineStream) this.shed(now, true);
    return true;
  }

  addPath(now: number, key: string): void {
    this.onAppCall?.();
    const s = this.s;
    if (s.pathByKey.has(key)) return;
    const p = s.addPath(key);
    p.local = true;
    p.eager = s.bond !== 'single';
    p.lastReceived = now;
    s.challenge(p);
  }

  close(now: number, reason: string): void {
    this.onAppCall?.();
    const s = this.s;
    if (s.state === 'closed' || s.state === 'closing') return;
    if (!s.protection && this.role === 'client') {
      s.finish(reason, false);
      return;
    }
    s.closeFrame = { code: 0, reason };
    s.state = 'closing';
    void now;
  }

  stats(): SessionStats {
    const s = this.s;
    return sessionStats(s.counters, {
      state: s.state,
      primary: s.primaryPath(),
      paths: s.paths,
      fecRecovered: this.fec.recovered,
      targetBitrateBps: this.media.targetBitrateBps(),
      pacingRateBps: this.media.pacingRateBps(),
      encryption: s.mode,
      lossEstimate: s.repair.loss,
      bond: s.bond,
    });
  }

  handleDatagram(now: number, pathKey: string, data: Uint8Array): void {
    this.rx.handleDatagram(now, pathKey, data);
  }

  // ---------------------------------------------------------------- timers

  handleTimeout(now: number): void {
    const s = this.s;
    if (s.state === 'closed') return;
    if (s.lastReceived + s.o.idleTimeoutMs <= now) {
      s.finish('idle timeout', false);
      return;
    }
    const handshake = this.hs.timedOut(now);
    if (handshake) {
      s.finish(handshake, false);
      return;
    }
    this.loss.onTimeout(now);
    this.health.onTimeout(now);
    this.media.rollCopyWindow(now);
    if (s.protection && (s.confirmed || this.role === 'client') && s.lastSent + s.o.keepaliveMs <= now) s.pingDue = true;
    for (const st of s.inStreams.values()) st.expire(now, s.lossReports);
    this.health.checkReceiveSilence(now);
    if (now >= this.nextShed) this.shed(now, false);
  }

  pollTimeout(): number | undefined {
    const s = this.s;
    if (s.state === 'closed') return undefined;
    const idle = s.lastReceived + s.o.idleTimeoutMs;
    if (s.closeFrame) return 0;
    const handshake = this.hs.wakeAt(idle);
    if (handshake !== undefined) return handshake;
    if (s.pendingOpens.size || s.pingDue || s.lossReports.due || this.tx.echoPending) return 0;
    // Until the server confirms, FINISHED is repeated; media queued meanwhile is paced as usual
    // (returning here left it waiting for the next frame from the application to wake us).
    let t = this.hs.finishedWake(idle);
    t = Math.min(t, s.acks.nextAckTime(), s.acks.nextNackTime(this.tx.renackMs()), this.loss.wakeAt());
    t = Math.min(t, s.lastSent + s.o.keepaliveMs);
    t = Math.min(t, this.fec.nextDue());
    t = Math.min(t, this.feedback.wakeAt());
    for (const p of s.paths) {
      if (p.pendingResponse || p.pendingProbeAck) return 0;
      if (p.challenge) t = Math.min(t, p.challengeSentAt + Math.max(2 * p.rtt.smoothed, 100));
      if (s.confirmed && p.validated && p.state !== 'down') {
        const w = p.mtu.wakeAt(this.tx.probeTimeout(p));
        if (w !== undefined) t = Math.min(t, w);
      }
    }
    for (const p of s.paths) if (p.probeDue) return 0;
    if (s.paths.length > 1) t = Math.min(t, this.health.nextCheck());
    t = this.tx.mediaWakeAt(t, this.nextShed);
    // Copies wait for their own path only.
    return Math.min(t, s.copies.wakeAt(s.lastPoll));
  }

  // ---------------------------------------------------------------- send

  pollTransmit(now: number): Datagram | undefined {
    const s = this.s;
    s.lastPoll = now;
    if (s.state === 'closed') return undefined;
    if (this.hs.awaitingHello) {
      const initial = this.hs.pollInitial(now);
      return initial && this.tx.out(now, s.paths[0]!, initial);
    }
    const hello = this.hs.takeServerHello();
    if (hello) {
      const p = s.paths[0]!;
      if (p.maysend(hello.length)) return this.tx.out(now, p, hello.slice());
    }
    if (!s.protection) return undefined;
    if (this.loss.nextPn > LAST_PACKET_NUMBER && !s.closeFrame && s.state !== 'closing') {
      // A new handshake gives new keys; this one's nonces are used up.
      s.closeFrame = { code: 2, reason: 'packet numbers used up (reconnect for new keys)' };
      s.state = 'closing';
    }
    if (s.closeFrame) return this.tx.pollClose(now);
    if (this.role === 'server' && !s.confirmed) return undefined;
    return this.tx.pollProtected(now);
  }

  // ---------------------------------------------------------------- helpers

  /** Resend rounds FEC may count on for this message (RepairPlanner.rounds). */
  private retransmitRounds(now: number, m: OutMessage): number {
    if (m.meta.deadline === undefined) return 0;
    const s = this.s;
    if (s.pooled.active) return s.pooled.rounds(now, m);
    return s.repair.rounds(now, m.meta.deadline, s.queue.bytes, s.primaryPath(), this.media.pacingRateBps(), s.lastPoll);
  }

  private shed(now: number, force: boolean): void {
    if (!force && now < this.nextShed) return;
    this.nextShed = now + 5;
    const s = this.s;
    const primary = s.primaryPath();
    // One path: no more than the one-way delay from the minimum RTT and what is in flight now.
    // SRTT still remembers an outage's seconds-long RTTs after the bottleneck has drained, and
    // read as a 2.8 s one-way delay it shed every audio frame for 3 s after a 5 s outage.
    const owd = s.bond === 'single' ? Math.min(primary.rtt.smoothed / 2, s.repair.oneWayMs(primary, now, false)) : primary.rtt.smoothed / 2;
    s.queue.shed(now, this.media.pacingRateBps() * 0.9, owd, (m, reason) => s.emitDrop(m.stream, m.id, m.meta, reason));
  }

  get closeReason(): string {
    return this.s.closedReason;
  }

  get isClosed(): boolean {
    return this.s.isClosed;
  }
}
