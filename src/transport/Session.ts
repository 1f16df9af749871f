/**
 * One end of a session (client or server role), implementing api.ts `Session`. A state
 * machine with no I/O: datagrams and `now` in; datagrams, wake-up times and events out.
 *
 * Receive path (handleDatagram): every check (lengths, version, session id, replay window,
 * AEAD tag, frame syntax, FINISHED) runs before any state changes; a failed check drops the
 * datagram and counts it in stats().dropped[reason]. Nothing throws out.
 *
 * Send path (pollTransmit): one datagram per call: handshake packets, else a PROTECTED packet
 * with due control frames (FINISHED, ACK, NACK, FEEDBACK, STREAM_OPEN, path and MTU frames,
 * PING, CLOSE) and at most one DATA or FEC_REPAIR frame, paced and under the congestion window.
 */
import { Reader, WireError, Writer } from '../wire/buf.js';
import { MAX_DATAGRAM, PROTECTED_HEADER_LEN, PacketType, SHORT_HEADER_LEN, VERSION, decodeHeader, encodeHeader } from '../wire/header.js';
import { decodeFrames, encodeFrame, type Frame } from '../wire/frame.js';
import { decodeRetry } from '../wire/retry.js';
import { decodeServerHello } from '../wire/serverHello.js';
import { decodeClientHello } from '../wire/clientHello.js';
import { DATA_FEC_OVERHEAD, DATA_FLAG_FEC, DATA_FLAG_KEYFRAME, DATA_FLAG_REFERENCE, MAX_FRAGMENTS, NO_DEADLINE, decodeData, encodeData, type DataFrame } from '../wire/data.js';
import { encodePadding } from '../wire/ping.js';
import { forEachAckRange, type AckFrame } from '../wire/ack.js';
import { MAX_NACKS } from '../wire/nack.js';
import type { FecRepairFrame } from '../wire/fecRepair.js';
import { PacketProtection, TAG_LEN } from './crypto/PacketProtection.js';
import { macEqual } from './crypto/keys.js';
import type { Datagram, EncryptionMode, MessageMeta, PathStats, Session as ISession, SessionEvent, SessionStats, StreamOptions } from './api.js';
import { ClientHandshake, type Established } from './Handshake.js';
import { ReplayWindow } from './ReplayWindow.js';
import { AckTracker } from './AckTracker.js';
import { RecvStream, type Delivered } from './Reassembly.js';
import { SendQueue, type OutFragment, type OutMessage, type OutStream } from './SendQueue.js';
import { Path } from './Path.js';
import { bestPath, copyPaths, hasWindow, mediaPath, targetBitrate, type BondMode } from './Bonding.js';
import { CopyQueue } from './CopyQueue.js';
import { DelayLossController } from './cc/DelayLossController.js';
import type { SendAlgorithm } from './cc/SendAlgorithm.js';
import { BinomialFecPolicy } from './FecPolicy.js';
import { FecEncoder } from './FecEncoder.js';
import { FecDecoder } from './FecDecoder.js';
import { RepairPlanner } from './RepairPlanner.js';
import { CryptoRandom, type Random } from './Random.js';
import { MODE_CODE, MODE_NAME, type CommonOptions } from './options.js';

const CLASS_CODE = { control: 0, audio: 1, video: 2 } as const;
const CLASS_NAME = ['control', 'audio', 'video'] as const;
/** Room kept in every packet for control frames next to a full DATA frame. */
const CONTROL_RESERVE = 80;
/** Most ranges an ACK riding with media may carry (14 + 4 * 8 = 46 bytes). */
const PIGGYBACK_RANGES = 8;
const PIGGYBACK_ACK = 46;
const FEEDBACK_INTERVAL = 100;
const MAX_QUEUE_BYTES = 32 * 1024 * 1024;
/** A server session that has not seen FINISHED by then is forgotten (half-open). */
const HANDSHAKE_TIMEOUT = 10_000;

interface SentPacket {
  pn: number;
  time: number;
  bytes: number;
  path: Path;
  /** Position among the ack-eliciting packets of its path (per-path loss detection). */
  seq: number;
  frag: OutFragment | undefined;
  opens: number[] | undefined;
  ackEliciting: boolean;
  delivered: number;
  deliveredTime: number;
  appLimited: boolean;
}

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
}

type RetransmitCause = 'nack' | 'reorder' | 'early' | 'timeout' | 'path-down';

/** A down path is probed this often (at least; more with a long RTT). */
const PROBE_INTERVAL = 200;
/** Answered probes (and a hold that doubles with each outage) before a down path carries media again. */
const PROBES_TO_READMIT = 3;
const MAX_HOLD = 4000;
/** A bonded link that sent nothing for this long gets a PING. */
const IDLE_PING = 500;
/** Bonded paths pace at this multiple of their target: above 1 so the target can find more, not 2x as a single path does (that fills the fastest link's queue). */
const PACE_BONDED = 1.1;
/** Queued media beyond this many ms of the paths' summed target counts as a backlog (see setPacing). */
const BACKLOG_MS = 250;
/** A path's window allows the queue its controller tolerates (max(25 ms, base RTT / 4)) plus this, ms. */
const QUEUE_SLACK_MS = 25;
/** A bonded path's queue must stay high this long to count as overuse (see DelayLossController). */
const OVERUSE_HOLD = 150;
/** Second copy of a last-round resend goes this much later (outside a short loss burst). */
const DUPLICATE_SPACING_MS = 20;
/** A FEC block's repairs leave at least this long before its first source's deadline less the one-way delay. */
const FEC_CLOSE_MARGIN_MS = 60;
/** The window of one path holds the application's offered rate times this (FEC and headers). */
const OFFERED_HEADROOM = 1.3;

export class Session implements ISession {
  readonly id: bigint;
  readonly role: 'client' | 'server';
  /** The identity the client named in its hello (which pre-shared key authenticated it). */
  readonly identity: string;
  private state: SessionStats['state'] = 'handshake';
  private readonly random: Random;
  private readonly o: Required<Pick<CommonOptions, 'initialMtu' | 'maxMtu' | 'keepaliveMs' | 'idleTimeoutMs' | 'initialRttMs' | 'reorderDelayMs' | 'maxBufferBytes' | 'fec'>>;
  private mode: EncryptionMode;
  private protection: PacketProtection | undefined;
  private client: ClientHandshake | undefined;
  private initialDue = -1;
  private initialTries = 0;
  private serverHello: Uint8Array | undefined;
  private serverHelloDue = false;
  private readonly clientPublicKey: Uint8Array | undefined;
  private clientMac: Uint8Array | undefined;
  /** Client: keep sending FINISHED until the server's first PROTECTED packet arrives. Server: FINISHED seen. */
  private confirmed = false;

  private readonly paths: Path[] = [];
  private readonly pathByKey = new Map<string, Path>();
  private readonly bond: BondMode;
  private readonly newCc: () => SendAlgorithm;
  private readonly minBps: number;
  private readonly copies = new CopyQueue();
  private copyBytes = 0;
  private copyWindowBytes = 0;
  private copyWindowStart = 0;
  private copyBps = 0;
  private pathsDowned = 0;
  private readonly fecEnc: FecEncoder | undefined;
  private readonly fecDec = new FecDecoder();
  private readonly repairs: { frame: FecRepairFrame; priority: number }[] = [];

  private nextPn = 1;
  private readonly sent = new Map<number, SentPacket>();
  private bytesInFlight = 0;
  private largestAcked = -1;
  private lossTimer = Infinity;
  private rtoBackoff = 0;
  private readonly replay = new ReplayWindow();
  private readonly acks: AckTracker;

  private readonly outStreams = new Map<number, OutStream>();
  private readonly pendingOpens = new Set<number>();
  private readonly queue = new SendQueue();
  private nextStreamId: number;
  private readonly inStreams = new Map<number, RecvStream>();
  private readonly events: SessionEvent[] = [];
  private eventHead = 0;
  private readonly delivering: Delivered[] = [];

  private readonly createdAt: number;
  private lastSent: number;
  private lastReceived: number;
  private pingDue = false;
  private closeFrame: { code: number; reason: string } | undefined;
  private closedReason = '';
  private nextShed = 0;
  private readonly repair: RepairPlanner;
  private fbLastAt: number;
  private fbBytes = 0;
  private fbReceived = 0;
  private fbHighest = -1;
  private fbDataSeen = false;

  private readonly scratch = new Uint8Array(MAX_DATAGRAM);
  private readonly frameScratch = new Uint8Array(MAX_DATAGRAM);
  private readonly rx: Frame[] = [];

  private readonly st = {
    packetsSent: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0, retransmits: 0, fecPacketsSent: 0,
    messagesDropped: 0, dataPacketsSent: 0, dataPacketsLost: 0, deadlineMessages: 0, deadlineLost: 0,
  };
  private readonly retransmitCauses: Record<RetransmitCause, number> = { nack: 0, reorder: 0, early: 0, timeout: 0, 'path-down': 0 };
  private readonly dropped: Record<string, number> = {};

  constructor(init: SessionInit) {
    this.id = init.sessionId;
    this.role = init.role;
    this.identity = new TextDecoder().decode(init.identity ?? new Uint8Array(0));
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
    this.newCc = () => init.congestion?.() ?? new DelayLossController({
      initialBps: init.initialBitrateBps, minBps: init.minBitrateBps, maxBps: init.maxBitrateBps,
      overuseHoldMs: this.bond === 'single' ? 0 : OVERUSE_HOLD,
    });
    this.repair = new RepairPlanner(this.bond === 'single');
    this.fecEnc = this.o.fec ? new FecEncoder(init.fecPolicy ?? (this.bond === 'single' ? new BinomialFecPolicy() : new BinomialFecPolicy({ audio: 1e-3, keyframe: 1e-3, video: 1e-2 }))) : undefined;
    this.acks = new AckTracker(5, this.o.reorderDelayMs);
    this.nextStreamId = init.role === 'client' ? 0 : 1;
    this.lastSent = this.lastReceived = this.fbLastAt = this.createdAt = init.now;
    const first = this.addPathInternal(init.path);
    first.validated = true;
    first.state = 'active';
    first.lastReceived = init.now;
    this.clientPublicKey = init.clientPublicKey;
    if (init.role === 'client') {
      this.client = new ClientHandshake(this.random, this.id, MODE_CODE[this.mode], init.identity ?? new Uint8Array(0), init.psk);
      this.initialDue = init.now;
    } else {
      this.serverHello = init.serverHello;
      this.serverHelloDue = true;
      this.establish(init.established!);
    }
  }

  // ---------------------------------------------------------------- public API

  pollEvent(): SessionEvent | undefined {
    if (this.eventHead >= this.events.length) return undefined;
    const e = this.events[this.eventHead++];
    if (this.eventHead > 256 && this.eventHead * 2 > this.events.length) {
      this.events.splice(0, this.eventHead);
      this.eventHead = 0;
    }
    return e;
  }

  openStream(_now: number, options: StreamOptions): number {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.outStreams.set(id, { id, options: { ...options }, nextMessageId: 0, waitingKeyframe: false, openAcked: false });
    this.pendingOpens.add(id);
    return id;
  }

  send(now: number, streamId: number, data: Uint8Array, meta: MessageMeta = {}): boolean {
    const s = this.outStreams.get(streamId);
    if (!s || this.state === 'closing' || this.state === 'closed') return false;
    if (this.queue.bytes + data.length > MAX_QUEUE_BYTES) return false;
    const video = s.options.class === 'video';
    const deadlineStream = s.options.reliability === 'deadline';
    if (deadlineStream) this.st.deadlineMessages++;
    if (video && s.waitingKeyframe) {
      if (!meta.keyframe) {
        this.emitDrop(s, s.nextMessageId++, meta, 'queue');
        return false;
      }
      s.waitingKeyframe = false;
    }
    if (deadlineStream && meta.deadline !== undefined && meta.deadline <= now) {
      this.emitDrop(s, s.nextMessageId++, meta, 'deadline');
      return false;
    }
    const room = this.fragmentRoom();
    const count = Math.max(1, Math.ceil(data.length / room));
    if (count > MAX_FRAGMENTS) return false;
    const frags: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) frags[i] = data.subarray(i * room, Math.min(data.length, (i + 1) * room));
    const m: OutMessage = {
      stream: s, id: s.nextMessageId++, meta: { ...meta }, frags, next: 0,
      acked: new Uint8Array(count), ackedCount: 0, done: false, bytes: data.length,
    };
    this.queue.push(m);
    this.countOffered(now, data.length);
    if (deadlineStream) this.shed(now, true);
    return true;
  }

  /** What the application hands over, per second (a window must not hold back a source the controller has not caught up with). */
  private countOffered(now: number, bytes: number): void {
    if (now - this.offeredStart >= 1000) {
      this.offeredBps = (this.offeredBytes * 8000) / Math.max(1000, now - this.offeredStart);
      this.offeredBytes = 0;
      this.offeredStart = now;
    }
    this.offeredBytes += bytes;
    // In the first second of media there is no full window yet: what came so far (a stream's
    // first second is when a backlog behind the initial target forms).
    if (this.offeredSince < 0) this.offeredSince = now;
    if (now - this.offeredSince < 1000) {
      this.offeredBps = Math.max(this.offeredBps, (this.offeredBytes * 8000) / Math.max(500, now - this.offeredStart));
    }
  }

  private offeredSince = -1;

  private offeredBytes = 0;
  private offeredStart = -Infinity;
  private offeredBps = 0;

  addPath(now: number, key: string): void {
    if (this.pathByKey.has(key)) return;
    const p = this.addPathInternal(key);
    p.local = true;
    p.eager = this.bond !== 'single';
    p.lastReceived = now;
    this.challenge(p);
  }

  close(now: number, reason: string): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (!this.protection && this.role === 'client') {
      this.finish(reason, false);
      return;
    }
    this.closeFrame = { code: 0, reason };
    this.state = 'closing';
    void now;
  }

  stats(): SessionStats {
    const primary = this.primaryPath();
    const dropped: Record<string, number> = { ...this.dropped };
    return {
      state: this.state,
      srttMs: primary.rtt.smoothed,
      rttVarMs: primary.rtt.rttVar,
      lossBeforeRepair: this.st.dataPacketsSent ? this.st.dataPacketsLost / this.st.dataPacketsSent : 0,
      lossAfterRepair: this.st.deadlineMessages ? this.st.deadlineLost / this.st.deadlineMessages : 0,
      packetsSent: this.st.packetsSent,
      packetsReceived: this.st.packetsReceived,
      bytesSent: this.st.bytesSent,
      bytesReceived: this.st.bytesReceived,
      retransmits: this.st.retransmits,
      retransmitsByCause: { ...this.retransmitCauses },
      fecPacketsSent: this.st.fecPacketsSent,
      fecRecovered: this.fecDec.recovered,
      targetBitrateBps: this.targetBitrateBps(),
      pacingRateBps: this.pacingRateBps(),
      mtu: primary.mtu.mtu,
      messagesDropped: this.st.messagesDropped,
      dropped,
      paths: this.pathStats(),
      encryption: this.mode,
      lossEstimate: this.repair.loss,
      bond: this.bond,
      copyBytes: this.copyBytes,
      pathsDowned: this.pathsDowned,
    };
  }

  private pathStats(): PathStats[] {
    let total = 0;
    for (const p of this.paths) total += p.dataPacketsLastWindow;
    for (const p of this.paths) p.share = total ? p.dataPacketsLastWindow / total : 0;
    return this.paths.map((p) => p.stats());
  }

  private targetBitrateBps(): number {
    return targetBitrate(this.bond, this.paths, this.primaryPath(), this.copyBps, this.minBps);
  }

  /** What the paths that carry media can send together (the queue's drain rate). */
  private pacingRateBps(): number {
    if (this.bond === 'single') return this.primaryPath().cc.pacingRateBps();
    let sum = 0;
    for (const p of this.paths) if (p.usable) sum += p.cc.pacingRateBps();
    return sum || this.primaryPath().cc.pacingRateBps();
  }

  // ---------------------------------------------------------------- receive

  private drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  handleDatagram(now: number, pathKey: string, data: Uint8Array): void {
    try {
      this.receive(now, pathKey, data);
    } catch (e) {
      this.drop(e instanceof WireError ? e.reason : 'internal');
    }
  }

  private receive(now: number, pathKey: string, data: Uint8Array): void {
    if (this.state === 'closed') return this.drop('closed');
    if (data.length < SHORT_HEADER_LEN) return this.drop('truncated');
    if (data.length > MAX_DATAGRAM) return this.drop('oversized');
    const r = new Reader(data);
    const h = decodeHeader(r);
    if (h.sessionId !== this.id) return this.drop('wrong-session');
    if (h.type === PacketType.RETRY) return this.onRetry(now, r);
    if (h.type === PacketType.SERVER_HELLO) return this.onServerHello(now, r, pathKey, data.length);
    if (h.type === PacketType.INITIAL) return this.onRepeatedInitial(r, pathKey, data.length);
    if (!this.protection) return this.drop('no-keys');
    if (!this.replay.check(h.packetNumber)) return this.drop('replay');
    const hasTag = this.mode !== 'none';
    const bodyEnd = data.length - (hasTag ? TAG_LEN : 0);
    const clearEnd = PROTECTED_HEADER_LEN + h.clearLength;
    if (bodyEnd < PROTECTED_HEADER_LEN || clearEnd > bodyEnd) return this.drop('bad-length');
    if (this.mode === 'headers' ? false : this.mode === 'all' ? h.clearLength !== 0 : clearEnd !== bodyEnd) return this.drop('bad-length');
    // Decrypt a copy: a forged packet must leave the caller's buffer and our state untouched.
    const buf = this.frameScratch;
    buf.set(data);
    if (hasTag && !this.protection.open(buf, h.packetNumber, clearEnd, data.length)) return this.drop('auth');
    const frames = this.rx;
    frames.length = 0;
    try {
      decodeFrames(buf, PROTECTED_HEADER_LEN, bodyEnd, frames);
    } catch (e) {
      return this.drop(e instanceof WireError ? `frame-${e.reason}` : 'malformed');
    }
    if (this.role === 'server' && !this.confirmed) {
      const fin = frames.find((f) => f.kind === 'finished');
      if (!fin || fin.kind !== 'finished' || !macEqual(fin.mac, this.clientMac!)) return this.drop('auth');
      this.confirmed = true;
      this.state = 'connected';
      this.emit({ type: 'connected' });
      this.emit({ type: 'path-up', path: this.paths[0]!.key });
    }
    // Authenticated from here on.
    this.replay.mark(h.packetNumber);
    if (this.role === 'client' && !this.confirmed) this.confirmed = true;
    this.st.packetsReceived++;
    this.st.bytesReceived += data.length;
    this.lastReceived = now;
    let path = this.pathByKey.get(pathKey);
    if (!path) {
      path = this.addPathInternal(pathKey);
      this.challenge(path);
    }
    path.countReceived(now, data.length);
    // A bonded sender brings a down link back only through its probes (hysteresis); otherwise
    // hearing from a path again is enough.
    if (path.state === 'down' && (this.role === 'server' || this.bond === 'single')) path.state = path.validated ? 'active' : 'probing';
    let ackEliciting = false;
    let dataSeen = false;
    // STREAM_OPEN first: in 'headers' mode DATA sits in the clear section, ahead of it on the wire.
    for (let i = 0; i < frames.length; i++) if (frames[i]!.kind === 'stream-open') this.onFrame(now, frames[i]!, path, buf, data.length);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (f.kind !== 'ack' && f.kind !== 'feedback') ackEliciting = true;
      if (f.kind === 'data' || f.kind === 'fec') dataSeen = true;
      if (f.kind !== 'stream-open') this.onFrame(now, f, path, buf, data.length);
      if (this.isClosed) return;
    }
    this.acks.onPacket(now, h.packetNumber, ackEliciting);
    if (ackEliciting) path.ackPending = true;
    // Every packet counts toward the loss ratio: ack-only packets and probes take packet
    // numbers too, and leaving them out made a clean link look 2-5% lossy (and FEC follow it).
    this.fbReceived++;
    if (this.fbHighest < 0) this.fbHighest = h.packetNumber - 1;
    if (dataSeen) {
      this.fbBytes += data.length;
      this.fbDataSeen = true;
    }
  }

  private onRetry(now: number, r: Reader): void {
    if (!this.client || this.protection || this.client.hello.cookie.length > 0) return this.drop('unexpected-retry');
    const retry = decodeRetry(r);
    this.client.setCookie(retry.cookie);
    this.initialDue = now;
    this.initialTries = 0;
  }

  private onServerHello(now: number, r: Reader, pathKey: string, len: number): void {
    if (!this.client || this.protection) return this.drop('unexpected-hello');
    const sh = decodeServerHello(r);
    const est = this.client.onServerHello(sh.mode, sh.publicKey, sh.random, sh.mac);
    if (!est) return this.drop('auth');
    this.establish(est);
    this.initialDue = -1;
    this.finishedDue = now;
    this.state = 'connected';
    this.st.packetsReceived++;
    this.st.bytesReceived += len;
    this.lastReceived = now;
    const path = this.pathByKey.get(pathKey);
    if (path) {
      path.lastReceived = now;
      if (this.initialTries === 1) path.rtt.update(now - this.initialSentAt);
    }
    this.emit({ type: 'connected' });
    this.emit({ type: 'path-up', path: this.paths[0]!.key });
  }

  private initialSentAt = 0;
  /** Client: when a packet carrying FINISHED must go out even with nothing else to send. */
  private finishedDue = -1;

  private onRepeatedInitial(r: Reader, pathKey: string, len: number): void {
    if (this.role !== 'server' || !this.serverHello) return this.drop('unexpected-initial');
    const ch = decodeClientHello(r);
    if (!this.clientPublicKey || !macEqual(ch.publicKey, this.clientPublicKey)) return this.drop('auth');
    const path = this.pathByKey.get(pathKey);
    if (!path) return this.drop('unknown-path');
    path.bytesReceived += len;
    this.serverHelloDue = !this.confirmed;
  }

  private establish(est: Established): void {
    const k = est.keys;
    this.mode = MODE_NAME[est.mode]!;
    this.protection = this.role === 'client' ? new PacketProtection(k.c2sKey, k.c2sIv, k.s2cKey, k.s2cIv) : new PacketProtection(k.s2cKey, k.s2cIv, k.c2sKey, k.c2sIv);
    this.clientMac = est.clientMac;
  }

  private onFrame(now: number, f: Frame, path: Path, buf: Uint8Array, len: number): void {
    switch (f.kind) {
      case 'ping':
      case 'finished':
        return;
      case 'ack': return this.onAck(now, f, path);
      case 'nack':
        for (const pn of f.packetNumbers) {
          const p = this.sent.get(pn);
          if (p) this.onLost(now, p, 'nack');
        }
        return;
      case 'data': return this.onData(now, f, true);
      case 'fec':
        for (const enc of this.fecDec.onRepair(f)) this.onRecovered(now, enc);
        return;
      case 'stream-open':
        if (!this.inStreams.has(f.streamId)) {
          if (this.inStreams.size >= 1024) return this.drop('too-many-streams');
          const options: StreamOptions = { class: CLASS_NAME[f.streamClass]!, reliability: f.reliability === 0 ? 'reliable' : 'deadline', priority: f.priority };
          this.inStreams.set(f.streamId, new RecvStream(f.streamId, options));
          this.emit({ type: 'stream-opened', streamId: f.streamId, options });
        }
        return;
      case 'mtu-probe':
        path.pendingProbeAck = { id: f.probeId, size: len };
        return;
      case 'mtu-probe-ack':
        path.mtu.onProbeAck(now, f.probeId, f.size);
        return;
      case 'close':
        this.finish(f.reason, true);
        return;
      case 'path-challenge':
        path.pendingResponse = f.data.slice();
        return;
      case 'path-response':
        for (const p of this.paths) {
          if (p.challenge && macEqual(p.challenge, f.data)) {
            p.challenge = undefined;
            if (!p.validated) {
              p.validated = true;
              p.state = 'active';
              p.mtu.restart(now);
              this.emit({ type: 'path-up', path: p.key });
            }
          }
        }
        return;
      case 'feedback': {
        const loss = f.loss / 65535;
        this.repair.onReport(loss);
        if (this.bond === 'single') {
          this.primaryPath().cc.onFeedback(now, loss, f.recvRateKbps * 1000);
          return;
        }
        // The receiver's loss mixes all paths; each path's controller gets its own, from acks.
        for (const p of this.paths) {
          const l = p.takeIntervalLoss();
          if (p.usable && !Number.isNaN(l)) p.cc.onFeedback(now, l, NaN);
        }
        return;
      }
    }
    void buf;
  }

  private onData(now: number, f: DataFrame, fromWire: boolean): void {
    if (fromWire && f.flags & DATA_FLAG_FEC) {
      const enc = this.frameScratch2;
      const w = new Writer(enc);
      encodeData(w, f);
      for (const rec of this.fecDec.onSource(f.fecGroup, f.fecIndex, enc.subarray(0, w.pos))) this.onRecovered(now, rec);
    }
    const s = this.inStreams.get(f.streamId);
    if (!s) return this.drop('unknown-stream');
    let buffered = 0;
    for (const x of this.inStreams.values()) buffered += x.buffered;
    const out = this.delivering;
    out.length = 0;
    const refused = s.onData(now, f, this.o.maxBufferBytes - buffered, out);
    if (refused) this.drop(refused);
    for (const m of out) this.emit({ type: 'message', streamId: m.streamId, data: m.data, meta: m.meta });
  }

  private readonly frameScratch2 = new Uint8Array(MAX_DATAGRAM);

  private onRecovered(now: number, encoded: Uint8Array): void {
    try {
      const r = new Reader(encoded);
      if (r.u8() !== 0x04) return this.drop('fec-bad-frame');
      this.onData(now, decodeData(r), false);
    } catch {
      this.drop('fec-bad-frame');
    }
  }

  private onAck(now: number, f: AckFrame, via: Path): void {
    if (f.largest >= this.nextPn) return this.drop('ack-unsent');
    this.onProbeAcks(now, f);
    const first = this.sent.keys().next();
    const lowest = first.done ? this.nextPn : first.value;
    // The newest packet acked on each path gives that path its RTT and delivery-rate sample.
    const newest = this.ackedNewest;
    newest.clear();
    const ackedBytes = this.ackedBytes;
    ackedBytes.clear();
    forEachAckRange(f, (lo, hi) => {
      for (let pn = Math.max(lo, lowest); pn <= hi; pn++) {
        const p = this.sent.get(pn);
        if (!p) continue;
        this.sent.delete(pn);
        const path = p.path;
        if (p.ackEliciting) {
          this.bytesInFlight -= p.bytes;
          path.bytesInFlight -= p.bytes;
        }
        ackedBytes.set(path, (ackedBytes.get(path) ?? 0) + p.bytes);
        path.delivered += p.bytes;
        path.deliveredTime = now;
        path.lastAckAt = now;
        path.awaitingSince = -1;
        if (p.seq > path.largestAckedSeq) path.largestAckedSeq = p.seq;
        const n = newest.get(path);
        if (!n || p.pn > n.pn) newest.set(path, p);
        this.onAcked(p);
      }
    });
    if (!newest.size) return;
    this.rtoBackoff = 0;
    if (f.largest > this.largestAcked) this.largestAcked = f.largest;
    for (const [path, p] of newest) {
      let rttSample = NaN;
      // Only the largest acked has a trustworthy ack delay; a path whose newest acked packet
      // is older still gets its sample from the time since it was sent, less nothing: it is
      // an upper bound, which the estimator's minimum filter and smoothing absorb.
      // Over bonded paths a sample counts only from an ACK that came back on the packet's own
      // path: an ACK returning over another link measures this link's way out plus that link's
      // way back (a fast return made a 300 ms link look 200 ms, and then "silent").
      if (p.ackEliciting && (this.bond === 'single' ? p.pn === f.largest : via === path)) {
        rttSample = now - p.time;
        path.rtt.update(rttSample, p.pn === f.largest ? f.ackDelay / 10 : 0);
      }
      // One-way delay needs the receiver's clock, which an ACK gives for its largest packet
      // only. Over bonded paths that packet is nearly always the fastest path's, so the others
      // use their RTT as the delay signal: the controller looks at its rise over the minimum,
      // and the feedback direction is not the congested one.
      const owd = p.pn === f.largest && this.bond === 'single' ? f.recvTime / 10 - p.time : this.bond === 'single' ? NaN : rttSample;
      const interval = now - p.deliveredTime;
      const rate = interval > 0 ? ((path.delivered - p.delivered) * 8000) / interval : NaN;
      path.cc.onAck(now, {
        ackedBytes: ackedBytes.get(path)!,
        rttMs: rttSample,
        minRttMs: path.rtt.minRtt,
        srttMs: path.rtt.smoothed,
        deliveryRateBps: rate,
        appLimited: p.appLimited,
        oneWayDelayMs: owd,
      });
    }
    this.detectLosses(now);
  }

  private readonly ackedNewest = new Map<Path, SentPacket>();
  private backlogged = false;
  /** The same ACK, still to go out on other paths (see pollProtected). */
  private readonly ackEcho: Array<{ path: Path; ack: Frame }> = [];
  private readonly ackedBytes = new Map<Path, number>();

  /** Probes of down paths that this ACK covers: evidence the path carries packets again. */
  private onProbeAcks(now: number, f: AckFrame): void {
    for (const path of this.paths) {
      if (!path.probes.size) continue;
      for (const [pn, sentAt] of path.probes) {
        let covered = false;
        forEachAckRange(f, (lo, hi) => {
          if (pn >= lo && pn <= hi) covered = true;
        });
        if (!covered) continue;
        path.probes.delete(pn);
        path.rtt.update(now - sentAt, 0);
        path.lastAckAt = now;
        path.probeOk++;
      }
      if (path.state === 'down' && path.probeOk >= PROBES_TO_READMIT && now >= path.holdUntil) this.readmit(now, path);
    }
  }

  /**
   * A path that answered its probes carries media again. It keeps its controller's estimates
   * (a cellular outage does not change what the link carries after it), but for two seconds
   * ('probing') it counts for half its target and paces at half, so a link that comes back
   * worse than it left does not take a full share at once.
   */
  private readmit(now: number, path: Path): void {
    path.state = 'probing';
    // Probes are not packets in flight: the silence clock starts again with the first media.
    path.awaitingSince = -1;
    path.probes.clear();
    path.probeOk = 0;
    path.largestAckedSeq = path.nextSeq - 1;
    path.readmittedAt = now;
    this.emit({ type: 'path-up', path: path.key });
  }

  private onAcked(p: SentPacket): void {
    p.path.onPacketOutcome(false);
    if (p.opens) for (const id of p.opens) {
      const s = this.outStreams.get(id);
      if (s) s.openAcked = true;
    }
    const fr = p.frag;
    if (!fr) return;
    const m = fr.msg;
    if (m.acked[fr.index]) return;
    m.acked[fr.index] = 1;
    m.ackedCount++;
    if (m.ackedCount === m.frags.length) m.done = true;
  }

  /**
   * Packet threshold (3 later packets acked) and time threshold (9/8 RTT): QUIC's rules, applied
   * within each path, so packets still on a slow path are not declared lost because a faster
   * path's later packets were acked first.
   */
  private detectLosses(now: number): void {
    this.lossTimer = Infinity;
    for (const p of this.sent.values()) {
      if (p.pn >= this.largestAcked) break;
      const path = p.path;
      if (p.seq >= path.largestAckedSeq) continue;
      const rtt = path.rtt;
      const delay = Math.max((9 / 8) * Math.max(rtt.smoothed, rtt.latest), 2);
      if (path.largestAckedSeq - p.seq >= 3) this.onLost(now, p, 'reorder');
      else if (p.time + delay <= now) this.onLost(now, p, 'early');
      else this.lossTimer = Math.min(this.lossTimer, p.time + delay);
    }
  }

  private onLost(now: number, p: SentPacket, cause: RetransmitCause): void {
    if (!this.sent.delete(p.pn)) return;
    if (p.ackEliciting) {
      this.bytesInFlight -= p.bytes;
      p.path.bytesInFlight -= p.bytes;
    }
    // A dead path's packets say nothing about its congestion: they were stranded, not dropped by a queue.
    if (cause !== 'path-down') {
      p.path.onPacketOutcome(true);
      p.path.cc.onLoss(now, p.bytes);
    }
    if (p.opens) for (const id of p.opens) this.pendingOpens.add(id);
    const fr = p.frag;
    if (!fr) return;
    this.st.dataPacketsLost++;
    const m = fr.msg;
    if (m.done || m.acked[fr.index]) return;
    if (m.stream.options.reliability === 'deadline' && m.meta.deadline !== undefined && now + (this.bond === 'single' ? this.repair.oneWayMs(p.path, this.lastPoll, false) : p.path.rtt.smoothed / 2) >= m.meta.deadline) {
      // Too late to resend. With copies on other paths (redundant, auto) one lost copy says
      // nothing about the others: giving the message up here threw away copies still in
      // flight or queued, and the rest of its GOP with it.
      if (this.bond === 'redundant' || this.bond === 'auto') return;
      this.queue.discard(m);
      this.emitDrop(m.stream, m.id, m.meta, 'deadline');
      return;
    }
    if (m.retx === undefined) m.retx = new Uint8Array(m.frags.length);
    if (m.retx[fr.index]) return;
    m.retx[fr.index] = 1;
    this.queue.pushRetransmit(fr);
    this.st.retransmits++;
    this.retransmitCauses[cause]++;
    // The last resend that can make the deadline goes several times, a little apart: a lost
    // resend cannot be resent again in time, and on one link with 1% loss one resend left 1 in
    // 10^4 packets lost (a frame a minute, and its GOP with it). Copies cost p x copies of the
    // bytes, where FEC on every first transmission cost a quarter of them.
    if (this.bond === 'single' && m.meta.deadline !== undefined && !this.repair.anotherRoundFits(now, m.meta.deadline, p.path, this.lastPoll)) {
      const copies = this.repair.resendCopies();
      m.retx[fr.index] = copies;
      for (let i = 1; i < copies; i++) this.dupes.push({ frag: fr, at: now + i * DUPLICATE_SPACING_MS });
      this.st.retransmits += copies - 1;
    }
  }

  /** Queues the spaced second copies of last-round resends that are due. */
  private releaseDupes(now: number): void {
    while (this.dupes.length && this.dupes[0]!.at <= now) this.queue.pushRetransmit(this.dupes.shift()!.frag);
  }

  private readonly dupes: { frag: OutFragment; at: number }[] = [];

  // ---------------------------------------------------------------- timers

  handleTimeout(now: number): void {
    if (this.state === 'closed') return;
    if (this.lastReceived + this.o.idleTimeoutMs <= now) {
      this.finish('idle timeout', false);
      return;
    }
    if (this.role === 'server' && !this.confirmed && this.createdAt + HANDSHAKE_TIMEOUT <= now) {
      this.finish('handshake timeout', false);
      return;
    }
    if (this.client && !this.protection && this.initialTries >= 8 && now >= this.initialDue) {
      this.finish('handshake timeout', false);
      return;
    }
    if (now >= this.lossTimer) this.detectLosses(now);
    this.releaseDupes(now);
    const rtoAt = this.rtoAt();
    if (now >= rtoAt) {
      for (const p of this.sent.values()) if (p.ackEliciting && p.time + p.path.rtt.rto(this.rtoBackoff) <= now) this.onLost(now, p, 'timeout');
      this.rtoBackoff++;
    }
    if (this.paths.length > 1) this.checkPaths(now);
    for (const p of this.paths) p.rollWindow(now);
    if (now - this.copyWindowStart >= 1000) {
      this.copyBps = (this.copyWindowBytes * 8000) / Math.max(1000, now - this.copyWindowStart);
      this.copyWindowBytes = 0;
      this.copyWindowStart = now;
    }
    if (this.protection && (this.confirmed || this.role === 'client') && this.lastSent + this.o.keepaliveMs <= now) this.pingDue = true;
    for (const s of this.inStreams.values()) s.expire(now);
    for (const p of this.paths) {
      // A bonded sender hears its acks on whichever path the receiver picks, so hearing
      // nothing on a link says nothing; its health comes from acks of what it sent (checkPaths).
      if (this.role === 'client' && this.bond !== 'single') break;
      if (p.validated && p.state !== 'down' && this.paths.length > 1 && now - p.lastReceived > Math.max(3 * p.rtt.rto(), this.o.keepaliveMs * 2)) {
        this.takeDown(now, p);
      }
    }
    if (now >= this.nextShed) this.shed(now, false);
  }

  private rtoAt(): number {
    if (this.bytesInFlight <= 0) return Infinity;
    let t = Infinity;
    const seen = this.rtoSeen;
    seen.clear();
    for (const p of this.sent.values()) {
      if (!p.ackEliciting || seen.has(p.path)) continue;
      seen.add(p.path);
      t = Math.min(t, p.time + p.path.rtt.rto(this.rtoBackoff));
      if (seen.size === this.paths.length) break;
    }
    return t;
  }

  private readonly rtoSeen = new Set<Path>();

  /**
   * Path health, when there is more than one: a path with packets in flight and no ack for
   * longer than its silence limit is taken out of the schedule and its packets in flight are
   * queued again at once (for the other paths). A down path is probed; it is re-admitted after
   * answering several probes and a hold that doubles with each outage (no flapping). A path
   * re-admitted gets full standing ('active') after two seconds without going down again.
   */
  private checkPaths(now: number): void {
    let usable = 0;
    for (const p of this.paths) if (p.usable) usable++;
    for (const p of this.paths) {
      if (p.state === 'probing' && p.validated && now >= p.readmittedAt + 2000) p.state = 'active';
      // Silence counts from the first packet sent after the last ack, whether or not the RTO
      // has since called that packet lost: a dead link's packets all time out, one by one.
      if (!p.usable || usable < 2 || now < p.silentAt()) continue;
      this.takeDown(now, p);
      usable--;
    }
    if (this.role === 'client' && this.bond !== 'single') {
      // Down paths get probes; idle usable ones a PING now and then, which keeps their RTT
      // fresh for the scheduler and shows early when one goes silent.
      for (const p of this.paths) {
        if (!p.validated || now < p.nextProbeAt) continue;
        if (p.state === 'down' || now >= p.lastSent + IDLE_PING) {
          p.nextProbeAt = now + Math.max(PROBE_INTERVAL, p.state === 'down' ? p.rtt.smoothed : 0);
          p.probeDue = true;
        }
      }
    }
  }

  private takeDown(now: number, path: Path): void {
    path.state = 'down';
    path.downAt = now;
    path.downCount = now - path.readmittedAt < 30_000 ? path.downCount + 1 : 1;
    path.holdUntil = now + Math.min(MAX_HOLD, 500 * 2 ** (path.downCount - 1));
    path.probeOk = 0;
    path.nextProbeAt = now;
    this.pathsDowned++;
    for (const p of [...this.sent.values()]) if (p.path === path) this.onLost(now, p, 'path-down');
    path.bytesInFlight = 0;
    path.awaitingSince = -1;
    this.copies.dropPath(path);
    this.emit({ type: 'path-down', path: path.key });
  }

  pollTimeout(): number | undefined {
    if (this.state === 'closed') return undefined;
    const idle = this.lastReceived + this.o.idleTimeoutMs;
    if (this.closeFrame) return 0;
    if (this.client && !this.protection) return Math.min(idle, this.initialDue);
    if (this.serverHelloDue) return 0;
    if (this.role === 'server' && !this.confirmed) return Math.min(idle, this.createdAt + HANDSHAKE_TIMEOUT);
    if (this.pendingOpens.size || this.pingDue || this.ackEcho.length) return 0;
    // Until the server confirms, FINISHED is repeated; media queued meanwhile is paced as usual
    // (returning here left it waiting for the next frame from the application to wake us).
    let t = this.role === 'client' && !this.confirmed && this.finishedDue >= 0 ? Math.min(idle, this.finishedDue) : idle;
    t = Math.min(t, this.acks.nextAckTime(), this.acks.nextNackTime(this.renackMs()), this.lossTimer, this.rtoAt());
    t = Math.min(t, this.lastSent + this.o.keepaliveMs);
    if (this.dupes.length) t = Math.min(t, this.dupes[0]!.at);
    if (this.fecEnc) t = Math.min(t, this.fecEnc.nextDue());
    if (this.fbDataSeen) t = Math.min(t, this.fbLastAt + FEEDBACK_INTERVAL);
    for (const p of this.paths) {
      if (p.pendingResponse || p.pendingProbeAck) return 0;
      if (p.challenge) t = Math.min(t, p.challengeSentAt + Math.max(2 * p.rtt.smoothed, 100));
      if (this.confirmed && p.validated && p.state !== 'down') {
        const w = p.mtu.wakeAt(this.probeTimeout(p));
        if (w !== undefined) t = Math.min(t, w);
      }
    }
    for (const p of this.paths) if (p.probeDue) return 0;
    if (this.paths.length > 1) t = Math.min(t, this.nextPathCheck());
    if (this.repairs.length || !this.queue.empty) {
      const size = this.repairs.length ? this.repairs[0]!.frame.symbol.length + 11 : this.queue.peekSize(this.lastPoll, this.dropFn) + DATA_FEC_OVERHEAD;
      for (const p of this.mediaPaths()) {
        // Wake for a path only if the next packet fits it (a fragment cut for a larger MTU waits for that path).
        if (size + PIGGYBACK_ACK > p.mtu.mtu - PROTECTED_HEADER_LEN - TAG_LEN) continue;
        if (hasWindow(p)) t = Math.min(t, p.pacer.nextSendTime(this.lastPoll, p.mtu.mtu + 60));
      }
      t = Math.min(t, this.nextShed);
    }
    // Copies wait for their own path only.
    return Math.min(t, this.copies.wakeAt(this.lastPoll));
  }

  private lastPoll = 0;

  private receivingOnSeveralPaths(now: number): boolean {
    let n = 0;
    for (const p of this.paths) if (now - p.lastReceived < 1000 && ++n > 1) return true;
    return false;
  }

  /** When checkPaths has something to do: a silence, a probe or idle PING due, a promotion. */
  private nextPathCheck(): number {
    let t = Infinity;
    const bonded = this.role === 'client' && this.bond !== 'single';
    let usable = 0;
    for (const p of this.paths) if (p.usable) usable++;
    for (const p of this.paths) {
      if (p.usable && usable >= 2) t = Math.min(t, p.silentAt());
      if (p.state === 'probing' && p.validated) t = Math.min(t, p.readmittedAt + 2000);
      if (bonded && p.validated) t = Math.min(t, Math.max(p.nextProbeAt, p.state === 'down' ? -Infinity : p.lastSent + IDLE_PING));
    }
    return t;
  }

  private readonly dropFn = (m: OutMessage, reason: 'deadline' | 'queue') => this.emitDrop(m.stream, m.id, m.meta, reason);

  /** Paths that may carry media now (in a reused array: this runs for every packet). */
  private mediaPaths(): readonly Path[] {
    const out = this.mediaScratch;
    out.length = 0;
    if (this.bond !== 'single' && this.paths.length > 1) {
      for (const p of this.paths) if (p.usable) out.push(p);
    } else {
      const p = this.primaryPath();
      if (p.usable) out.push(p);
    }
    return out;
  }

  private readonly mediaScratch: Path[] = [];

  private renackMs(): number {
    return Math.max(50, 1.5 * this.primaryPath().rtt.smoothed);
  }

  private probeTimeout(p: Path): number {
    return Math.max(3 * p.rtt.smoothed, 200);
  }

  // ---------------------------------------------------------------- send

  pollTransmit(now: number): Datagram | undefined {
    this.lastPoll = now;
    if (this.state === 'closed') return undefined;
    if (this.client && !this.protection) return this.pollInitial(now);
    if (this.serverHelloDue && this.serverHello) {
      const p = this.paths[0]!;
      this.serverHelloDue = false;
      if (p.maysend(this.serverHello.length)) return this.out(now, p, this.serverHello.slice(), false);
    }
    if (!this.protection) return undefined;
    if (this.closeFrame) return this.pollClose(now);
    if (this.role === 'server' && !this.confirmed) return undefined;
    return this.pollProtected(now);
  }

  private pollInitial(now: number): Datagram | undefined {
    if (now < this.initialDue) return undefined;
    this.initialTries++;
    this.initialSentAt = now;
    this.initialDue = now + Math.min(3000, 250 * 2 ** (this.initialTries - 1));
    return this.out(now, this.paths[0]!, this.client!.initialDatagram(), false);
  }

  private pollClose(now: number): Datagram | undefined {
    const path = this.primaryPath();
    const frames: Frame[] = [{ kind: 'close', code: this.closeFrame!.code, reason: this.closeFrame!.reason }];
    const reason = this.closeFrame!.reason;
    this.closeFrame = undefined;
    const d = this.build(now, path, frames, undefined, 0);
    this.finish(reason, false);
    return d;
  }

  private pollProtected(now: number): Datagram | undefined {
    // Path-bound frames first: a response or probe ack must leave on the path it answers.
    for (const p of this.paths) {
      if (p.pendingResponse) {
        const data = p.pendingResponse;
        p.pendingResponse = undefined;
        const frames: Frame[] = [{ kind: 'path-response', data }];
        if (p.challenge && p.challengeSentAt + Math.max(2 * p.rtt.smoothed, 100) <= now) frames.push(this.challengeFrame(now, p));
        if (p.maysend(64)) return this.build(now, p, frames, undefined, 0);
      }
      if (p.pendingProbeAck) {
        const a = p.pendingProbeAck;
        p.pendingProbeAck = undefined;
        if (p.maysend(64)) return this.build(now, p, [{ kind: 'mtu-probe-ack', probeId: a.id, size: a.size }], undefined, 0);
      }
      if (p.challenge && p.challengeSentAt + Math.max(2 * p.rtt.smoothed, 100) <= now && p.maysend(64)) {
        if (p.challengeTries >= 5) {
          p.challenge = undefined;
          continue;
        }
        return this.build(now, p, [this.challengeFrame(now, p)], undefined, 0);
      }
    }
    const primary = this.primaryPath();
    while (this.ackEcho.length) {
      const { path, ack } = this.ackEcho.shift()!;
      if (path.usable) return this.build(now, path, [ack], undefined, 0);
    }
    for (const p of this.paths) if (p.probeDue) return this.pollPing(now, p);
    if (this.copies.length) {
      const d = this.pollCopy(now);
      if (d) return d;
    }
    if (this.confirmed) {
      for (const p of this.paths) {
        if (!p.validated || p.state === 'down') continue;
        const probe = p.mtu.poll(now, this.probeTimeout(p));
        if (probe) return this.build(now, p, [{ kind: 'mtu-probe', probeId: probe.id, size: probe.size }], undefined, probe.size);
      }
    }
    const frames: Frame[] = [];
    const withFinished = this.role === 'client' && !this.confirmed && this.clientMac !== undefined;
    if (withFinished) frames.push({ kind: 'finished', mac: this.clientMac! });
    let controlBytes = frames.length ? 33 : 0;
    let nacks = this.acks.takeNacks(now, this.renackMs(), MAX_NACKS);
    // Packets of a session arriving over several paths at once come out of order by the
    // paths' delay difference: a gap is not a loss. The sender detects loss per path instead.
    if (nacks.length && this.receivingOnSeveralPaths(now)) nacks = [];
    if (nacks.length) {
      frames.push({ kind: 'nack', packetNumbers: nacks });
      controlBytes += 2 + 4 * nacks.length;
    }
    if (this.fbDataSeen && this.fbLastAt + FEEDBACK_INTERVAL <= now) {
      frames.push(this.feedbackFrame(now));
      controlBytes += 9;
    }
    let opens: number[] | undefined;
    if (this.pendingOpens.size) {
      opens = [];
      for (const id of this.pendingOpens) {
        const s = this.outStreams.get(id)!;
        frames.push({ kind: 'stream-open', streamId: id, streamClass: CLASS_CODE[s.options.class], reliability: s.options.reliability === 'reliable' ? 0 : 1, priority: s.options.priority });
        opens.push(id);
        controlBytes += 6;
        if (controlBytes > 600) break;
      }
      for (const id of opens) this.pendingOpens.delete(id);
    }
    if (this.pingDue) {
      frames.push({ kind: 'ping' });
      this.pingDue = false;
      controlBytes += 1;
    }
    // Media: a repair first (it protects what just left), else the next fragment, on the path
    // the bonding mode picks among those with room under their window and pacer.
    let media: DataFrame | FecRepairFrame | undefined;
    let frag: OutFragment | undefined;
    let fecRepair = false;
    let urgent = false;
    const dropFn = this.dropFn;
    const wantAck = this.acks.wantsAck(now);
    const ackRoom = this.acks.highest >= 0 ? PIGGYBACK_ACK : 0;
    let path = primary;
    this.releaseDupes(now);
    if (this.fecEnc && now >= this.fecEnc.nextDue()) {
      for (const frame of this.fecEnc.closeDue(now, this.repair.loss, this.repair.fecLoss(now, this.primaryPath(), 'video'))) this.repairs.push({ frame, priority: 0 });
    }
    this.setPacing(now);
    const mp = this.mediaPaths();
    if (mp.length) {
      let minMtu = Infinity;
      for (const p of mp) minMtu = Math.min(minMtu, p.mtu.mtu);
      const maxRoom = minMtu - PROTECTED_HEADER_LEN - TAG_LEN - PIGGYBACK_ACK;
      while (this.repairs.length && this.repairs[0]!.frame.symbol.length + 11 > maxRoom) this.repairs.shift();
      const size = this.repairs.length ? this.repairs[0]!.frame.symbol.length + 11 : this.queue.peekSize(now, dropFn) + DATA_FEC_OVERHEAD;
      const room = size + PROTECTED_HEADER_LEN + TAG_LEN + controlBytes + ackRoom;
      const onPath = size > DATA_FEC_OVERHEAD ? mediaPath(now, this.bond, this.paths, size + 40, room) : undefined;
      if (onPath) {
        path = onPath;
        if (this.repairs.length) {
          media = this.repairs.shift()!.frame;
          fecRepair = true;
        } else {
          frag = this.queue.next(now, dropFn)!;
          const m = frag.msg;
          urgent = !!m.retx?.[frag.index] && m.meta.deadline !== undefined && m.meta.deadline - now < 2 * path.rtt.smoothed;
          media = this.dataFrame(now, frag);
          const s = m.stream;
          if (!s.openAcked && !this.pendingOpens.has(s.id) && !(opens && opens.includes(s.id)) && controlBytes + 6 + ackRoom + size <= path.mtu.mtu - 32) {
            frames.push({ kind: 'stream-open', streamId: s.id, streamClass: CLASS_CODE[s.options.class], reliability: s.options.reliability === 'reliable' ? 0 : 1, priority: s.options.priority });
            (opens ??= []).push(s.id);
          }
        }
      }
    }
    // An ACK rides along only when something that asks for one came in: a media sender hears
    // mostly ACK-only packets, and acking those on every media packet cost 2-4% of the wire.
    if (wantAck || ((frames.length > 0 || media) && this.acks.owesAck)) {
      const ack = this.acks.buildAck(now, media ? PIGGYBACK_RANGES : 32);
      if (ack) {
        frames.unshift(ack);
        // An ACK with nothing else goes back on every path that brought packets since the last
        // one (the same frame on each): each path's packets are then acked over its own return
        // direction, so a slow or lossy link delays or loses only its own acks. Acks riding one
        // shared path made the others look silent, inflated their RTT and cut their rates.
        if (!media) {
          let first = true;
          for (const p of this.paths) {
            if (!p.ackPending || !p.usable) continue;
            if (first) path = p;
            else this.ackEcho.push({ path: p, ack });
            first = false;
          }
        }
        for (const p of this.paths) p.ackPending = false;
      }
    }
    if (frames.length === 0 && !media) return undefined;
    if (withFinished) {
      if (frames.length === 1 && !media && now < this.finishedDue) return undefined;
      this.finishedDue = now + primary.rtt.rto();
    }
    const d = this.build(now, path, frames, media, 0, frag, opens);
    if (fecRepair) this.st.fecPacketsSent++;
    if (frag) {
      this.afterDataSent(now, frag, media as DataFrame);
      const m = frag.msg;
      const targets = copyPaths(this.bond, this.paths, path, { cls: m.stream.options.class, keyframe: !!m.meta.keyframe, urgent });
      for (const t of targets) {
        this.copies.push({ path: t, frag, frame: media!, until: m.meta.deadline ?? now + 2000 });
      }
    }
    return d;
  }

  /** Resend rounds FEC may count on for this message (RepairPlanner.rounds). */
  private retransmitRounds(now: number, m: OutMessage): number {
    if (m.meta.deadline === undefined) return 0;
    return this.repair.rounds(now, m.meta.deadline, this.queue.bytes, this.primaryPath(), this.pacingRateBps(), this.lastPoll);
  }

  /** Pacing and window per path: single mode keeps the controller's 2x headroom for keyframes; bonded paths pace nearer their share, so the fastest link does not take twice its part. */
  private setPacing(now: number): void {
    // A backlog (a link just died, or a keyframe) lets the bonded paths pace at the single
    // path's 2x headroom until it drains; their controllers still watch the queues they make.
    // The backlog counts copies too, against what the mode can carry (redundant: the weakest path).
    const rate = this.bond === 'single' ? 0 : this.targetBitrateBps();
    const waiting = this.queue.bytes + this.copies.bytes();
    const backlogged = rate > 0 && (waiting * 8000) / rate > BACKLOG_MS;
    // Paths that were app-limited do not know their capacity: a new backlog (a link died)
    // makes them probe upward at the startup pace until a queue or loss shows the limit.
    if (backlogged && !this.backlogged) for (const p of this.paths) if (p.usable) p.cc.probe?.();
    this.backlogged = backlogged;
    for (const p of this.paths) {
      if (!p.usable) continue;
      const pace = backlogged ? 2 : PACE_BONDED;
      const pacing = this.bond === 'single' ? p.cc.pacingRateBps() : pace * p.cc.targetBitrateBps() * (this.readmitting(now, p) ? 0.5 : 1);
      // A path's window holds what it carries (its target or its measured delivery rate,
      // whichever is larger) over its base RTT plus a small queue: pacing may run ahead, but a
      // cellular link's deep buffer is never filled (seconds of delay, then bursts of loss; in
      // an outage the sender's queue sheds video by deadline instead, and audio still leaves).
      const base = Number.isFinite(p.rtt.minRtt) ? p.rtt.minRtt : p.rtt.smoothed;
      // One path: the window also holds what the application offers, with room for FEC and
      // headers. Sized from a 1 Mbit/s initial target it held back a 1.2 Mbit/s source, and the
      // backlog it built was dumped into the bottleneck once startup had doubled the target
      // (300 ms of queue; video shed a second into the stream). (A window of all the pacer lets
      // out in startup did that too, and on a cellular trace filled its deep buffer: audio on
      // time 0.77 -> 0.72.)
      // Never beyond twice what the path is known to carry: a 2 Mbit/s source on a 200 kbit/s
      // link would otherwise fill the link's deep buffer and hold audio behind it for seconds.
      const known = Math.max(p.cc.targetBitrateBps(), p.cc.deliveryRateBps());
      const offered = this.bond === 'single' ? Math.min(OFFERED_HEADROOM * this.offeredBps, 2 * known) : 0;
      const carries = Math.max(known, offered);
      // The queue budget matches the controller's overuse threshold: a window that allowed a
      // deeper standing queue made the controller cut again and again, far below capacity.
      const budget = Math.max(25, base / 4) + QUEUE_SLACK_MS;
      p.windowCap = Math.max(4 * p.mtu.mtu, (carries / 8) * ((base + budget) / 1000));
      p.pacer.setRate(now, pacing, p.mtu.mtu);
    }
  }

  /** Re-admitted after an outage less than two seconds ago: half weight (a new link is not). */
  private readmitting(now: number, p: Path): boolean {
    return p.state === 'probing' && now < p.readmittedAt + 2000;
  }

  /** The next copy some path can take now, as a packet of its own. */
  private pollCopy(now: number): Datagram | undefined {
    const c = this.copies.take(now);
    if (!c) return undefined;
    const d = this.build(now, c.path, [], c.frame, 0, c.frag);
    if (d) {
      this.copyBytes += d.data.length;
      this.copyWindowBytes += d.data.length;
    }
    return d;
  }

  /** A PING on a path: a probe of a down path (kept apart from the packets in flight) or an idle path's keepalive. */
  private pollPing(now: number, p: Path): Datagram | undefined {
    p.probeDue = false;
    if (!p.maysend(64)) return undefined;
    const pn = this.nextPn;
    const d = this.build(now, p, [{ kind: 'ping' }], undefined, 0);
    if (p.state === 'down') {
      const sp = this.sent.get(pn);
      if (sp) {
        this.sent.delete(pn);
        this.bytesInFlight -= sp.bytes;
        p.bytesInFlight -= sp.bytes;
      }
      for (const [old, at] of p.probes) if (now - at > 3000) p.probes.delete(old);
      if (p.probes.size < 64) p.probes.set(pn, now);
    }
    return d;
  }

  private dataFrame(now: number, fr: OutFragment): DataFrame {
    const m = fr.msg;
    const dl = m.meta.deadline;
    let flags = 0;
    if (m.meta.keyframe) flags |= DATA_FLAG_KEYFRAME;
    if (m.meta.reference !== false) flags |= DATA_FLAG_REFERENCE;
    let fecGroup = 0, fecIndex = 0;
    const cls = m.stream.options.class;
    const firstCopy = !m.retx || !m.retx[fr.index];
    this.sentFirstCopy = firstCopy;
    if (m.retx && m.retx[fr.index]) m.retx[fr.index]!--;
    if (this.fecEnc && firstCopy && cls !== 'control' && m.stream.options.reliability === 'deadline' && fr.index + 1 === m.next) {
      const path = this.primaryPath();
      const closeBy = dl === undefined ? Infinity : dl - this.repair.oneWayMs(path, this.lastPoll) - FEC_CLOSE_MARGIN_MS;
      const a = this.fecEnc.assign(now, cls, this.repair.loss, (m.fecRounds ??= this.retransmitRounds(now, m)), closeBy);
      if (a) {
        flags |= DATA_FLAG_FEC;
        fecGroup = a.group;
        fecIndex = a.index;
      }
    }
    return {
      kind: 'data', flags, streamId: m.stream.id, messageId: m.id, fragIndex: fr.index, fragCount: m.frags.length,
      deadlineOffset: dl === undefined ? NO_DEADLINE : Math.max(0, Math.min(NO_DEADLINE - 1, Math.round(dl - now))),
      timestamp: (m.meta.timestamp ?? 0) >>> 0, fecGroup, fecIndex, payload: m.frags[fr.index]!,
    };
  }


  /** Whether the DATA frame dataFrame built last is a fragment's first transmission. */
  private sentFirstCopy = false;

  private afterDataSent(now: number, fr: OutFragment, f: DataFrame): void {
    this.st.dataPacketsSent++;
    const cls = fr.msg.stream.options.class;
    if (!this.fecEnc || cls === 'control') return;
    if (f.flags & DATA_FLAG_FEC) {
      const w = new Writer(this.frameScratch2);
      encodeData(w, f);
      this.fecEnc.addSource(cls, this.frameScratch2.subarray(0, w.pos), !!fr.msg.meta.keyframe);
    }
    // A message's last first transmission ends it for FEC, protected or not: that closes the
    // blocks that are due (and lets the timer close the one it was filling).
    if (this.sentFirstCopy && fr.index === fr.msg.frags.length - 1) {
      for (const frame of this.fecEnc.endMessage(now, cls, this.repair.fecLoss(now, this.primaryPath(), cls))) {
        this.repairs.push({ frame, priority: fr.msg.stream.options.priority });
      }
    }
  }

  /**
   * Encodes and protects one PROTECTED packet. `padTo` pads to that many bytes (MTU probes).
   * In 'headers' mode media frames go in the clear section and the rest in the encrypted one.
   */
  private build(now: number, path: Path, frames: Frame[], media: Frame | undefined, padTo: number, frag?: OutFragment, opens?: number[]): Datagram | undefined {
    const buf = this.scratch;
    const pn = this.nextPn++;
    const w = new Writer(buf);
    encodeHeader(w, { version: VERSION, type: PacketType.PROTECTED, sessionId: this.id, packetNumber: pn, clearLength: 0 });
    const hasTag = this.mode !== 'none';
    const limit = Math.min(MAX_DATAGRAM, Math.max(padTo, path.mtu.mtu)) - (hasTag ? TAG_LEN : 0);
    const w2 = new Writer(buf.subarray(0, limit), PROTECTED_HEADER_LEN);
    if (this.mode === 'headers' && media) encodeFrame(w2, media);
    const clearEnd = this.mode === 'none' ? -1 : this.mode === 'headers' ? w2.pos : PROTECTED_HEADER_LEN;
    for (const f of frames) encodeFrame(w2, f);
    if (this.mode !== 'headers' && media) encodeFrame(w2, media);
    if (padTo > 0) encodePadding(w2, Math.max(0, padTo - (hasTag ? TAG_LEN : 0) - w2.pos));
    let end = w2.pos;
    const clearLen = (clearEnd < 0 ? end : clearEnd) - PROTECTED_HEADER_LEN;
    buf[14] = clearLen >>> 8;
    buf[15] = clearLen & 0xff;
    if (hasTag) end = this.protection!.seal(buf, pn, PROTECTED_HEADER_LEN + (this.mode === 'headers' ? clearLen : 0), end);
    const ackEliciting = media !== undefined || frames.some((f) => f.kind !== 'ack' && f.kind !== 'feedback');
    if (ackEliciting) {
      this.sent.set(pn, {
        pn, time: now, bytes: end, path, seq: path.nextSeq++, frag, opens, ackEliciting,
        delivered: path.delivered, deliveredTime: path.deliveredTime || now, appLimited: this.queue.empty,
      });
      this.bytesInFlight += end;
      path.bytesInFlight += end;
      if (path.awaitingSince < 0) path.awaitingSince = now;
      path.cc.onPacketSent(now, end, path.bytesInFlight);
    }
    if (media) path.pacer.onSent(now, end);
    path.countSent(now, end, media !== undefined);
    return this.out(now, path, buf.slice(0, end), true);
  }

  private out(now: number, path: Path, data: Uint8Array, countSent: boolean): Datagram {
    path.bytesSent += data.length;
    path.lastSent = now;
    path.packetsSent++;
    this.lastSent = now;
    this.st.packetsSent++;
    this.st.bytesSent += data.length;
    void countSent;
    return { path: path.key, data };
  }

  private feedbackFrame(now: number): Frame {
    const interval = Math.max(1, now - this.fbLastAt);
    const expected = this.acks.highest - this.fbHighest;
    const loss = expected > 0 ? Math.max(0, 1 - this.fbReceived / expected) : 0;
    const f: Frame = { kind: 'feedback', recvRateKbps: Math.round((this.fbBytes * 8) / interval), loss: Math.round(Math.min(1, loss) * 65535), intervalMs: Math.min(0xffff, Math.round(interval)) };
    this.fbLastAt = now;
    this.fbBytes = 0;
    this.fbReceived = 0;
    this.fbHighest = this.acks.highest;
    this.fbDataSeen = false;
    return f;
  }

  private challengeFrame(now: number, p: Path): Frame {
    p.challengeSentAt = now;
    p.challengeTries++;
    return { kind: 'path-challenge', data: p.challenge! };
  }

  // ---------------------------------------------------------------- helpers

  private addPathInternal(key: string): Path {
    const p = new Path(key, this.o.initialMtu, this.o.maxMtu, this.o.initialRttMs, this.newCc());
    this.paths.push(p);
    this.pathByKey.set(key, p);
    return p;
  }

  private challenge(p: Path): void {
    p.challenge = this.random.bytes(8);
    p.challengeSentAt = -Infinity;
    p.challengeTries = 0;
  }

  private primaryPath(): Path {
    return bestPath(this.paths) ?? this.paths[0]!;
  }

  /** Payload bytes per fragment: the smallest MTU in use, less header, tag, DATA header and room for control frames. */
  private fragmentRoom(): number {
    let mtu = Infinity;
    // Every path that may carry media (a bonded link before its challenge is answered
    // included): a fragment cut for a larger MTU cannot be copied to a smaller path.
    for (const p of this.paths) if (p.usable) mtu = Math.min(mtu, p.mtu.mtu);
    if (!Number.isFinite(mtu)) mtu = this.o.initialMtu;
    return mtu - PROTECTED_HEADER_LEN - TAG_LEN - DATA_FEC_OVERHEAD - CONTROL_RESERVE;
  }

  private shed(now: number, force: boolean): void {
    if (!force && now < this.nextShed) return;
    this.nextShed = now + 5;
    const primary = this.primaryPath();
    this.queue.shed(now, this.pacingRateBps() * 0.9, primary.rtt.smoothed / 2, (m, reason) => this.emitDrop(m.stream, m.id, m.meta, reason));
  }

  private emitDrop(s: OutStream, messageId: number, meta: MessageMeta, reason: 'deadline' | 'queue'): void {
    this.st.messagesDropped++;
    if (s.options.reliability === 'deadline') this.st.deadlineLost++;
    this.emit({ type: 'message-dropped', streamId: s.id, reason, messageId, timestamp: meta.timestamp });
  }

  private emit(e: SessionEvent): void {
    this.events.push(e);
  }

  private finish(reason: string, byPeer: boolean): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closedReason = reason;
    this.emit({ type: 'closed', reason, byPeer });
  }

  get closeReason(): string {
    return this.closedReason;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }
}

