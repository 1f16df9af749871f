/**
 * The SRT listener, sans-IO: datagrams from peers and `now` (ms) in; datagrams to peers,
 * accepted / closed connections and the next wake-up time out. Handshake v5 only
 * (draft-sharabayko-srt 4.3.1.1, caller-listener):
 *
 *   caller  INDUCTION (v4, cookie 0)         ->  listener answers v5 + SRT magic + SYN cookie,
 *                                                 keeping nothing
 *   caller  CONCLUSION (v5, cookie, HSREQ,   ->  cookie checked; `accept` sees the stream id and
 *           KMREQ?, SID?)                        decides; keys unwrapped; HSRSP (+KMRSP) back,
 *                                                 or a rejection (type 1000 + reason)
 *
 * A forged or stale cookie is dropped and counted, as libsrt does, so unvalidated callers cost
 * no state. Everything refused or dropped is counted under `counters` by reason.
 */
import { Connection, type ConnectionOptions } from './Connection.js';
import { Cookie } from './Cookie.js';
import { buildKm, parseKm, unwrapKeys } from './crypto/KeyMaterial.js';
import { PayloadCipher } from './crypto/PayloadCipher.js';
import {
  buildHandshake,
  buildSrtHs,
  decodeStreamId,
  Ext,
  ExtFlag,
  HS_CIF_SIZE,
  HsType,
  parseHandshake,
  parseSrtHs,
  Reject,
  SRT_MAGIC,
  SrtFlag,
  UDT_DGRAM,
  type Handshake,
  type HsExtension,
} from './handshake.js';
import { buildControl, ControlType, HEADER_SIZE, parsePacket, SrtParseError, type ControlPacket } from './packet.js';

export interface Peer {
  address: string;
  port: number;
}

export type AcceptDecision =
  | { accept: true; role: 'receive' | 'send'; passphrase?: string | undefined }
  | { reject: number; reason: string };

export interface AcceptRequest {
  streamId: string;
  peer: Peer;
  /** The caller sent key material (it has a passphrase). */
  encrypted: boolean;
}

export interface ListenerOptions {
  /** Our receiving delay (SRTO_RCVLATENCY and PEERLATENCY), ms; the peer may ask for more. Default 120. */
  latencyMs?: number;
  /** Decides each caller from its stream id. */
  accept: (req: AcceptRequest) => AcceptDecision;
  /** Deliver received packets at play time instead of as soon as in order (see Receiver). Default false. */
  hold?: boolean;
  /** Passphrase every caller must use unless `accept` gives one. */
  passphrase?: string;
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  /** Handshakes per second answered per address; more are dropped (floods). Default 50. */
  handshakesPerSecond?: number;
  idleTimeoutMs?: number;
  /** Flow window we announce, packets. Default 8192. */
  window?: number;
  cookieSecret?: Uint8Array;
  /** Our socket ids (tests pass a seeded source); default Math.random. */
  random?: () => number;
}

export interface Outgoing {
  data: Uint8Array;
  peer: Peer;
}

export interface Accepted {
  id: number;
  conn: Connection;
  peer: Peer;
  streamId: string;
}

interface Entry extends Accepted {
  key: string;
  response: Uint8Array;
}

/** libsrt 1.5.1, as the version we answer with. */
const SRT_VERSION = 0x010501;
const MAX_MTU = 1500;
const BUCKET_ADDRESSES = 4096;

export class Listener {
  /** Refused or dropped input by reason ('bad cookie', 'reject: ...', 'unknown socket', ...). */
  readonly counters: Record<string, number> = {};
  readonly connections = new Map<number, Entry>();
  private readonly byCaller = new Map<string, Entry>();
  private readonly out: Outgoing[] = [];
  private readonly accepted: Accepted[] = [];
  private readonly closed: Array<{ id: number; reason: string }> = [];
  private readonly rejected: Array<{ peer: Peer; code: number; reason: string }> = [];
  private readonly cookie: Cookie;
  private readonly buckets = new Map<string, { at: number; tokens: number }>();
  private readonly latencyMs: number;
  private readonly window: number;
  private readonly random: () => number;

  constructor(private readonly o: ListenerOptions) {
    this.cookie = new Cookie(o.cookieSecret);
    this.latencyMs = o.latencyMs ?? 120;
    this.window = o.window ?? 8192;
    this.random = o.random ?? Math.random;
  }

  /** One datagram from `peer`. Never throws on its content. */
  handle(data: Uint8Array, peer: Peer, now: number): void {
    let p;
    try {
      p = parsePacket(data);
    } catch (err) {
      if (!(err instanceof SrtParseError)) throw err;
      return this.count('malformed');
    }
    if (p.dstSocket === 0) {
      if (!p.control || p.type !== ControlType.Handshake) return this.count('not a handshake for socket 0');
      return this.handshake(p, peer, now);
    }
    const e = this.connections.get(p.dstSocket);
    if (!e || e.peer.address !== peer.address || e.peer.port !== peer.port) return this.count('unknown socket');
    if (p.control && p.type === ControlType.Handshake) {
      // A conclusion repeated because our answer was lost: answer again, the same way.
      this.out.push({ data: e.response, peer });
      return;
    }
    e.conn.handle(p, now);
    this.collect(e, now);
  }

  /** Runs every connection's timers. */
  poll(now: number): void {
    for (const e of this.connections.values()) {
      if (e.conn.nextWake() <= now) e.conn.poll(now);
      this.collect(e, now);
    }
  }

  nextWake(): number {
    let t = Infinity;
    for (const e of this.connections.values()) t = Math.min(t, e.conn.nextWake());
    return t;
  }

  /** Sends data to one connection (request role) and collects what it emits. */
  send(id: number, payload: Uint8Array, now: number): void {
    const e = this.connections.get(id);
    if (!e) return;
    e.conn.send(payload, now);
    this.collect(e, now);
  }

  /** Ends one connection (SHUTDOWN to the peer). */
  close(id: number, reason: string, now: number): void {
    const e = this.connections.get(id);
    if (!e) return;
    e.conn.close(reason, now);
    this.collect(e, now);
  }

  drainOutgoing(): Outgoing[] {
    return this.out.splice(0);
  }

  drainAccepted(): Accepted[] {
    return this.accepted.splice(0);
  }

  /** Rejections since the last call (at most 64 are kept between calls), for logging. */
  drainRejected(): Array<{ peer: Peer; code: number; reason: string }> {
    return this.rejected.splice(0);
  }

  drainClosed(): Array<{ id: number; reason: string }> {
    return this.closed.splice(0);
  }

  private collect(e: Entry, _now: number): void {
    for (const d of e.conn.drainDatagrams()) this.out.push({ data: d, peer: e.peer });
    if (e.conn.isClosed) {
      this.connections.delete(e.id);
      this.byCaller.delete(e.key);
      this.closed.push({ id: e.id, reason: e.conn.closedReason! });
    }
  }

  private count(reason: string): void {
    this.counters[reason] = (this.counters[reason] ?? 0) + 1;
  }

  /** Token bucket per address: a flood of handshakes gets no answers beyond the rate. */
  private allow(address: string, now: number): boolean {
    const rate = this.o.handshakesPerSecond ?? 50;
    let b = this.buckets.get(address);
    if (!b) {
      if (this.buckets.size >= BUCKET_ADDRESSES) this.buckets.clear();
      b = { at: now, tokens: rate };
      this.buckets.set(address, b);
    }
    b.tokens = Math.min(rate, b.tokens + ((now - b.at) * rate) / 1000);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  private handshake(p: ControlPacket, peer: Peer, now: number): void {
    let hs: Handshake;
    try {
      hs = parseHandshake(p.cif);
    } catch (err) {
      if (!(err instanceof SrtParseError)) throw err;
      return this.count('malformed handshake');
    }
    if (!this.allow(peer.address, now)) return this.count('handshake rate');
    if (hs.type === HsType.Induction) return this.induction(hs, peer, now);
    if (hs.type === HsType.Conclusion) return this.conclusion(hs, p.timestamp, peer, now);
    this.count('handshake type');
  }

  private induction(hs: Handshake, peer: Peer, now: number): void {
    // An HSv5 caller introduces itself as UDT version 4 with the datagram socket type.
    if (hs.version !== 4 && hs.version !== 5) return this.count('bad version');
    if (hs.version === 4 && hs.extension !== UDT_DGRAM) return this.count('bad version');
    const encryption = this.o.passphrase !== undefined ? 2 : 0; // advertise AES-128 when a passphrase is set
    const reply: Handshake = { ...hs, version: 5, encryption, extension: SRT_MAGIC, cookie: this.cookie.make(peer.address, peer.port, now), extensions: [] };
    this.out.push({ data: buildControl(ControlType.Handshake, 0, 0, 0, hs.socketId, buildHandshake(reply)), peer });
  }

  private conclusion(hs: Handshake, tsUs: number, peer: Peer, now: number): void {
    if (!this.cookie.check(hs.cookie, peer.address, peer.port, now)) return this.count('bad cookie');
    const key = `${peer.address}:${peer.port}:${hs.socketId}`;
    const known = this.byCaller.get(key);
    if (known) {
      this.out.push({ data: known.response, peer });
      return;
    }
    if (hs.version !== 5) return this.reject(hs, peer, Reject.Version, `handshake version ${hs.version} (5 needed)`);
    let hsreq: ReturnType<typeof parseSrtHs> | undefined;
    let kmreq: Uint8Array | undefined;
    let streamId = '';
    try {
      for (const e of hs.extensions) {
        if (e.type === Ext.HsReq) hsreq = parseSrtHs(e.data);
        else if (e.type === Ext.KmReq) kmreq = e.data;
        else if (e.type === Ext.Sid) streamId = decodeStreamId(e.data);
        else if (e.type === Ext.Congestion && decodeStreamId(e.data) !== 'live') return this.reject(hs, peer, Reject.Congestion, 'only live congestion control');
        else if (e.type === Ext.Filter) return this.reject(hs, peer, Reject.Filter, 'packet filters unsupported');
        else if (e.type === Ext.Group) return this.reject(hs, peer, Reject.Peer, 'socket groups unsupported');
      }
    } catch (err) {
      if (!(err instanceof SrtParseError)) throw err;
      return this.reject(hs, peer, Reject.Rogue, err.message);
    }
    if (!hsreq) return this.reject(hs, peer, Reject.Rogue, 'no HSREQ');
    if (hsreq.flags & SrtFlag.Stream) return this.reject(hs, peer, Reject.MessageApi, 'stream (file) mode unsupported');
    if (this.connections.size >= (this.o.maxConnections ?? 1000)) return this.reject(hs, peer, Reject.Backlog, 'too many connections');
    let perAddress = 0;
    for (const e of this.connections.values()) if (e.peer.address === peer.address) perAddress++;
    if (perAddress >= (this.o.maxConnectionsPerAddress ?? 256)) return this.reject(hs, peer, Reject.Resource, 'too many connections from this address');

    const decision = this.o.accept({ streamId, peer, encrypted: kmreq !== undefined });
    if ('reject' in decision) return this.reject(hs, peer, decision.reject, decision.reason);
    const passphrase = decision.passphrase ?? this.o.passphrase;
    let cipher: PayloadCipher | undefined;
    let kmrsp: Uint8Array | undefined;
    if (passphrase !== undefined || kmreq) {
      if (passphrase === undefined) return this.reject(hs, peer, Reject.Unsecure, 'caller encrypts, listener has no passphrase');
      if (!kmreq) return this.reject(hs, peer, Reject.Unsecure, 'passphrase required');
      try {
        const km = parseKm(kmreq);
        const keys = unwrapKeys(km, passphrase);
        if (!keys) return this.reject(hs, peer, Reject.BadSecret, 'wrong passphrase');
        cipher = new PayloadCipher(km.salt, keys);
        kmrsp = buildKm(km);
      } catch (err) {
        if (!(err instanceof SrtParseError)) throw err;
        return this.reject(hs, peer, Reject.Crypto, err.message);
      }
    }

    let id = 0;
    while (id === 0 || this.connections.has(id)) id = (Math.floor(this.random() * 0x3fffffff) + 1) >>> 0;
    const recvLatencyMs = Math.max(this.latencyMs, hsreq.sendDelayMs);
    const peerLatencyMs = Math.max(this.latencyMs, hsreq.recvDelayMs);
    const window = Math.min(this.window, Math.max(32, hs.flowWindow));
    const opts: ConnectionOptions = {
      localSocket: id,
      peerSocket: hs.socketId,
      isn: hs.isn,
      role: decision.role,
      recvLatencyMs,
      peerLatencyMs,
      startMs: now,
      peerBaseMs: now - tsUs / 1000,
      hold: this.o.hold ?? false,
      window,
      idleTimeoutMs: this.o.idleTimeoutMs ?? 5000,
      ...(cipher ? { cipher, passphrase: passphrase! } : {}),
    };
    const conn = new Connection(opts);
    const flags = SrtFlag.TsbpdSnd | SrtFlag.TsbpdRcv | SrtFlag.TlPktDrop | SrtFlag.PeriodicNak | SrtFlag.RexmitFlg | (cipher ? SrtFlag.Crypt : 0);
    const exts: HsExtension[] = [{ type: Ext.HsRsp, data: buildSrtHs({ version: SRT_VERSION, flags, recvDelayMs: recvLatencyMs, sendDelayMs: peerLatencyMs }) }];
    if (kmrsp) exts.push({ type: Ext.KmRsp, data: kmrsp });
    const reply: Handshake = {
      ...hs,
      encryption: 0,
      extension: ExtFlag.HsReq | (kmrsp ? ExtFlag.KmReq : 0),
      mtu: Math.min(MAX_MTU, Math.max(HEADER_SIZE + HS_CIF_SIZE + 28, hs.mtu)),
      flowWindow: window,
      socketId: id,
      peerIp: ipField(peer.address),
      extensions: exts,
    };
    const response = buildControl(ControlType.Handshake, 0, 0, 0, hs.socketId, buildHandshake(reply));
    const entry: Entry = { id, conn, peer, streamId, key, response };
    this.connections.set(id, entry);
    this.byCaller.set(key, entry);
    this.out.push({ data: response, peer });
    this.accepted.push({ id, conn, peer, streamId });
  }

  private reject(hs: Handshake, peer: Peer, code: number, reason: string): void {
    // Counted by code only (a reason may name a stream: keys must stay few); the reason goes to the shell's log.
    this.count(`rejected ${code}`);
    if (this.rejected.length < 64) this.rejected.push({ peer, code, reason });
    const reply: Handshake = { ...hs, type: HsType.FailureBase + code, extensions: [] };
    this.out.push({ data: buildControl(ControlType.Handshake, 0, 0, 0, hs.socketId, buildHandshake(reply)), peer });
  }
}

/** The peer IP field as libsrt writes it for IPv4: the address's bytes in a host-order word, sent swapped. */
function ipField(address: string): Uint8Array {
  const out = new Uint8Array(16);
  const parts = address.split('.').map(Number);
  if (parts.length === 4 && parts.every((n) => n >= 0 && n <= 255)) {
    for (let i = 0; i < 4; i++) out[3 - i] = parts[i]!;
  }
  return out;
}
