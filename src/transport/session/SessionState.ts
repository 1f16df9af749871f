/**
 * What every mechanism of a session shares: identity and role, the negotiated keys, the paths,
 * the streams and the send queue, the event queue, the counters and the clock of the last
 * poll. The mechanisms (Handshaking, Receiver, LossRecovery, PathHealth, MediaPaths, FecHooks,
 * Feedback, Packetizer) each keep their own state and read or change this one; Session wires
 * them together. No I/O here either: `now` is always passed in.
 */
import { LossReports } from './LossReports.js';
import { MAX_DATAGRAM } from '../../wire/header.js';
import type { PacketProtection } from '../crypto/PacketProtection.js';
import type { EncryptionMode, MessageMeta, SessionEvent, SessionStats } from '../api.js';
import { AckTracker } from '../AckTracker.js';
import type { RecvStream } from '../Reassembly.js';
import { SendQueue, type OutMessage, type OutStream } from '../SendQueue.js';
import { Path } from '../Path.js';
import { bestPath, type BondMode } from '../Bonding.js';
import { CopyQueue } from '../CopyQueue.js';
import { makeScheduler, type Scheduler } from '../scheduler/index.js';
import { PooledPlan } from './PooledPlan.js';
import { DelayLossController } from '../cc/DelayLossController.js';
import { ccFactory } from '../cc/select.js';
import type { SendAlgorithm } from '../cc/SendAlgorithm.js';
import { RepairPlanner } from '../RepairPlanner.js';
import { CryptoRandom, type Random } from '../Random.js';
import type { CommonOptions } from '../options.js';
import { Counters } from './Stats.js';

export type SessionOptions = Required<Pick<CommonOptions, 'initialMtu' | 'maxMtu' | 'keepaliveMs' | 'idleTimeoutMs' | 'initialRttMs' | 'reorderDelayMs' | 'maxBufferBytes' | 'fec'>>;

/** A bonded path's queue must stay high this long to count as overuse (see DelayLossController). */
const OVERUSE_HOLD = 150;

export class SessionState {
  readonly id: bigint;
  readonly role: 'client' | 'server';
  readonly random: Random;
  readonly o: SessionOptions;
  readonly bond: BondMode;
  readonly minBps: number;
  mode: EncryptionMode;
  protection: PacketProtection | undefined;
  state: SessionStats['state'] = 'handshake';
  /** Client: keep sending FINISHED until the server's first PROTECTED packet arrives. Server: FINISHED seen. */
  confirmed = false;

  readonly paths: Path[] = [];
  readonly pathByKey = new Map<string, Path>();
  private readonly newCc: () => SendAlgorithm;
  readonly copies = new CopyQueue();
  /** Which path each media packet takes (bonded sessions). */
  readonly sched: Scheduler;
  /** Repair and skip figures over pooled paths (earliest-arrival bonds). */
  readonly pooled: PooledPlan;
  readonly repair: RepairPlanner;
  readonly acks: AckTracker;

  readonly outStreams = new Map<number, OutStream>();
  readonly pendingOpens = new Set<number>();
  readonly queue = new SendQueue();
  /** LOST reports: the ones this end owes its peer, and the peer's applied to this end's queue. */
  readonly lossReports = new LossReports(this);
  readonly inStreams = new Map<number, RecvStream>();
  private readonly events: SessionEvent[] = [];
  private eventHead = 0;

  readonly createdAt: number;
  lastSent: number;
  lastReceived: number;
  /** The `now` of the last pollTransmit (pollTimeout and the loss rules plan from it). */
  lastPoll = 0;
  pingDue = false;
  closeFrame: { code: number; reason: string } | undefined;
  closedReason = '';
  readonly counters = new Counters();
  readonly scratch = new Uint8Array(MAX_DATAGRAM);

  constructor(init: CommonOptions & { sessionId: bigint; role: 'client' | 'server'; now: number }) {
    this.id = init.sessionId;
    this.role = init.role;
    this.random = init.random ?? new CryptoRandom();
    this.o = {
      initialMtu: init.initialMtu ?? 1200,
      maxMtu: Math.min(init.maxMtu ?? 1452, MAX_DATAGRAM),
      keepaliveMs: Math.min(init.keepaliveMs ?? 5000, 15_000),
      idleTimeoutMs: init.idleTimeoutMs ?? 30_000,
      initialRttMs: init.initialRttMs ?? 300,
      reorderDelayMs: init.reorderDelayMs ?? 10,
      maxBufferBytes: init.maxBufferBytes ?? 8 * 1024 * 1024,
      fec: init.fec ?? true,
    };
    this.mode = init.encryption ?? 'all';
    this.bond = init.bond ?? 'single';
    this.minBps = init.minBitrateBps ?? 100_000;
    // Each path has its own controller: links of a bond differ by 10x in capacity and RTT.
    const chosen = init.cc ? ccFactory(init.cc, { initialBps: init.initialBitrateBps, minBps: init.minBitrateBps, maxBps: init.maxBitrateBps }) : undefined;
    this.newCc = () => init.congestion?.() ?? chosen?.() ?? new DelayLossController({
      initialBps: init.initialBitrateBps, minBps: init.minBitrateBps, maxBps: init.maxBitrateBps,
      overuseHoldMs: this.bond === 'single' ? 0 : OVERUSE_HOLD,
      carriedFloor: this.bond === 'single',
    });
    this.repair = new RepairPlanner(this.bond === 'single');
    this.sched = makeScheduler(init.scheduler);
    this.pooled = new PooledPlan(this);
    this.queue.gate = this.pooled.worthSending;
    this.queue.onKeyframeWanted = (st) => this.emit({ type: 'keyframe-wanted', streamId: st.id });
    this.acks = new AckTracker(5, this.o.reorderDelayMs);
    this.lastSent = this.lastReceived = this.createdAt = init.now;
  }

  addPath(key: string): Path {
    const p = new Path(key, this.o.initialMtu, this.o.maxMtu, this.o.initialRttMs, this.newCc());
    this.paths.push(p);
    this.pathByKey.set(key, p);
    return p;
  }

  /** Starts validating a path: the peer must echo these 8 random bytes on it. */
  challenge(p: Path): void {
    p.challenge = this.random.bytes(8);
    p.challengeSentAt = -Infinity;
    p.challengeTries = 0;
  }

  primaryPath(): Path {
    return bestPath(this.paths) ?? this.paths[0]!;
  }

  drop(reason: string): void {
    this.counters.drop(reason);
  }

  emit(e: SessionEvent): void {
    this.events.push(e);
  }

  pollEvent(): SessionEvent | undefined {
    if (this.eventHead >= this.events.length) return undefined;
    const e = this.events[this.eventHead++];
    if (this.eventHead > 256 && this.eventHead * 2 > this.events.length) {
      this.events.splice(0, this.eventHead);
      this.eventHead = 0;
    }
    return e;
  }

  emitDrop(s: OutStream, messageId: number, meta: MessageMeta, reason: 'deadline' | 'queue'): void {
    this.counters.messagesDropped++;
    if (s.options.reliability === 'deadline') this.counters.deadlineLost++;
    this.emit({ type: 'message-dropped', streamId: s.id, reason, messageId, timestamp: meta.timestamp });
  }

  /** The queue's drop callback (one function, made once: the send path calls it per packet). */
  readonly dropFn = (m: OutMessage, reason: 'deadline' | 'queue') => this.emitDrop(m.stream, m.id, m.meta, reason);

  finish(reason: string, byPeer: boolean): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closedReason = reason;
    this.emit({ type: 'closed', reason, byPeer });
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }
}
