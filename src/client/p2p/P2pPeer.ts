/**
 * A native viewer as a P2P peer (`tributary play --p2p`): the core the browser runs (src/p2p
 * Peer) driven from Node the way web/p2p.js drives it in a page: this process's clock set to
 * the edge's, the edge's signalling WebSocket (/p2p/APP/KEY) and werift data channels to other
 * viewers (Links). What the core plays comes out as FLV: the edge's init bytes once, then each
 * played slice's tag in order. Anything that stops P2P before the first slice plays ends
 * `failed` with a reason; the caller then plays from the edge.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { decode, encode } from '../../p2p/codec.js';
import { EDGE, Msg, type AnyMsg } from '../../p2p/messages.js';
import { Peer } from '../../p2p/Peer.js';
import type { Hasher } from '../../p2p/slice.js';
import { emptyLinkStats, Links, type LinkStats } from './Links.js';

const START_TIMEOUT_MS = 10_000;
/** The FLV file header and its PreviousTagSize0: a later init repeats it, the output must not. */
const FLV_HEADER_BYTES = 13;

const nodeHash: Hasher = (parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export interface P2pPeerOptions {
  /** http(s)://HOST[:PORT]/APP/KEY[?token=T]: the edge's base and the stream. */
  url: string;
  write: (bytes: Uint8Array) => void;
  /** Extra ICE host addresses (default: 127.0.0.1 when the edge is on loopback). */
  hostAddresses?: string[];
  /** What leaves for another peer, rewritten: how the tests make a hostile peer of a real one. */
  outgoing?: (to: number, bytes: Uint8Array) => Uint8Array;
  /** The upload this peer tells the edge it has, kbit/s (default: what the edge's setup says). */
  uploadKbps?: number;
  /** ICE servers and policy of its own instead of the edge's (the P2P bench routes each peer through a link emulator this way). */
  rtc?: { iceServers: { urls: string | string[]; username?: string; credential?: string }[]; iceTransportPolicy: 'all' | 'relay' };
  /** Told of every slice the core plays: capture-to-play delay, on time or not, payload bytes. */
  onPlayed?: (delayMs: number, onTime: boolean, bytes: number) => void;
}

export interface P2pPeerStats {
  id: number;
  peerBytes: number;
  edgeBytes: number;
  /** peerBytes / (peerBytes + edgeBytes): slice payload bytes only. */
  share: number;
  neighbours: number;
  channels: number;
  started: boolean;
  startupMs: number | undefined;
  played: number;
  onTime: number;
  missed: number;
  /** Slice payload bytes by the peer id they came from. */
  peerBytesFrom: Record<number, number>;
  /** Payload bytes of the slices played. */
  playedBytes: number;
  /** Channel messages the core could not decode (counted, dropped). */
  wireErrors: number;
  links: LinkStats;
}

/** The edge's WebSocket URL for a play URL, or an error message. */
export function signalUrl(url: string): { ws: string; loopback: boolean } | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'use http://HOST[:PORT]/APP/KEY';
  const parts = u.pathname.split('/').filter(Boolean);
  if (parts.length !== 2) return 'the path must be /APP/KEY';
  const token = u.searchParams.get('token');
  const ws = `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/p2p/${parts[0]}/${parts[1]}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  return { ws, loopback: u.hostname === '127.0.0.1' || u.hostname === 'localhost' };
}

export class P2pPeer {
  readonly stats: P2pPeerStats = { id: 0, peerBytes: 0, edgeBytes: 0, share: 0, neighbours: 0, channels: 0, started: false, startupMs: undefined, played: 0, onTime: 0, missed: 0, playedBytes: 0, peerBytesFrom: {}, wireErrors: 0, links: emptyLinkStats() };
  /** Resolves once with why it stopped; `started` says whether anything played first. */
  readonly ended: Promise<string>;
  private end!: (reason: string) => void;
  private readonly ws: WebSocket;
  private peer: Peer | undefined;
  private links: Links | undefined;
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly startTimer: NodeJS.Timeout;
  private rtc: NonNullable<P2pPeerOptions['rtc']> = { iceServers: [], iceTransportPolicy: 'all' };
  private initSent = false;
  private over = false;
  private readonly hostAddresses: string[];

  constructor(private readonly o: P2pPeerOptions) {
    this.ended = new Promise((r) => (this.end = r));
    const s = signalUrl(o.url);
    if (typeof s === 'string') throw new Error(`--p2p: ${s}`);
    this.hostAddresses = o.hostAddresses ?? (s.loopback ? ['127.0.0.1'] : []);
    this.ws = new WebSocket(s.ws, { perMessageDeflate: false, maxPayload: 4 << 20 });
    this.ws.on('message', (data: Buffer, binary: boolean) => (binary ? this.fromEdge(data) : this.onText(data.toString())));
    this.ws.on('close', (code, reason) => this.stop(`signalling closed (${code}${reason.length ? ' ' + reason.toString() : ''})`));
    this.ws.on('error', (err) => this.stop(`signalling failed: ${err.message}`));
    this.ws.on('unexpected-response', (_req, res) => this.stop(`signalling refused: HTTP ${res.statusCode}`));
    this.startTimer = setTimeout(() => this.stop('nothing played in time'), START_TIMEOUT_MS);
  }

  private now(): number {
    return performance.now() + this.offset;
  }

  private onText(text: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (m.t === 'setup' && !this.peer) this.onSetup(m);
    else if (m.t === 'clock' && typeof m.now === 'number') this.offset = Math.max(this.offset, m.now - performance.now());
    else if (m.t === 'init' && typeof m.init === 'string') this.onInit(m.init);
    else if (m.t === 'signal' && this.links) void this.links.onSignal(m.from, m.data);
  }

  private onInit(b64: string): void {
    const bytes = Buffer.from(b64, 'base64');
    this.o.write(this.initSent ? bytes.subarray(FLV_HEADER_BYTES) : bytes);
    this.initSent = true;
  }

  private onSetup(m: Record<string, unknown>): void {
    if (typeof m.now !== 'number' || typeof m.core !== 'object' || m.core === null) return this.stop('bad setup from the edge');
    this.offset = m.now - performance.now();
    const rtc = (m.rtc ?? {}) as { iceServers?: unknown; iceTransportPolicy?: unknown };
    this.rtc = this.o.rtc ?? { iceServers: Array.isArray(rtc.iceServers) ? (rtc.iceServers as { urls: string }[]) : [], iceTransportPolicy: rtc.iceTransportPolicy === 'relay' ? 'relay' : 'all' };
    if (typeof m.init === 'string') this.onInit(m.init);
    const st = this.stats;
    this.peer = new Peer({
      config: m.core as never,
      region: 0,
      isp: 0,
      uploadKbps: this.o.uploadKbps ?? (typeof m.uploadKbps === 'number' ? m.uploadKbps : 0),
      reachable: true,
      hash: nodeHash,
      seed: (Math.random() * 2 ** 31) | 0,
      sink: {
        started: (ms) => {
          st.started = true;
          st.startupMs = ms;
          clearTimeout(this.startTimer);
        },
        played: (delay, onTime, bytes) => {
          st.played++;
          st.playedBytes += bytes;
          if (onTime) st.onTime++;
          this.o.onPlayed?.(delay, onTime, bytes);
        },
        missed: () => void st.missed++,
        decode: (_seq, payload) => this.o.write(payload),
      },
    });
    this.peer.start(this.now());
    this.pump();
  }

  private fromEdge(data: Buffer): void {
    if (!this.peer) return;
    let msg: AnyMsg;
    try {
      msg = decode(new Uint8Array(data.buffer, data.byteOffset, data.length));
    } catch {
      return;
    }
    if (msg.t === Msg.Slice) this.stats.edgeBytes += msg.payload.length;
    this.peer.receive(this.now(), EDGE, msg);
    // The id comes with the edge's Welcome: links need it to break offer glare.
    if (!this.links && this.peer.id) {
      this.links = new Links({
        ...this.rtc,
        hostAddresses: this.hostAddresses,
        myId: this.peer.id,
        signal: (to, body) => {
          if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ t: 'signal', to, data: body }));
        },
        onMessage: (from, bytes) => this.fromPeer(from, bytes),
        stats: this.stats.links,
      });
    }
    this.pump();
  }

  private fromPeer(id: number, bytes: Uint8Array): void {
    const peer = this.peer;
    if (!peer) return;
    let msg: AnyMsg;
    try {
      msg = decode(bytes);
    } catch {
      peer.receiveBytes(this.now(), id, bytes); // the core counts it against the sender
      return this.pump();
    }
    // Counted before the core checks it: a forged slice is dropped there (stats.forged).
    if (msg.t === Msg.Slice) {
      this.stats.peerBytes += msg.payload.length;
      this.stats.peerBytesFrom[id] = (this.stats.peerBytesFrom[id] ?? 0) + msg.payload.length;
    }
    peer.receive(this.now(), id, msg);
    this.pump();
  }

  private pump(): void {
    const peer = this.peer;
    if (!peer || this.over) return;
    const t = this.now();
    if (this.links) peer.setBacklog((this.links.buffered() * 8) / Math.max(1, peer.opts.uploadKbps));
    peer.poll(t);
    for (const { to, msg } of peer.drain()) {
      let bytes: Uint8Array;
      try {
        bytes = encode(msg);
      } catch {
        continue; // a slice too big for the wire: the neighbour pulls it elsewhere
      }
      if (to === EDGE) {
        if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
      } else this.links?.send(to, this.o.outgoing ? this.o.outgoing(to, bytes) : bytes);
    }
    const st = this.stats;
    st.id = peer.id;
    st.neighbours = peer.neighbours.size;
    st.channels = this.links?.open ?? 0;
    st.wireErrors = peer.stats.wireErrors;
    const total = st.peerBytes + st.edgeBytes;
    st.share = total ? st.peerBytes / total : 0;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), Math.max(5, Math.min(1000, peer.wakeAt - this.now())));
  }

  /** Candidate types of the pair behind each open data channel (Links.pairs). */
  pairs(): Promise<string[]> {
    return this.links?.pairs() ?? Promise.resolve([]);
  }

  /** Leaves politely and closes everything; idempotent. */
  stop(reason: string): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.timer);
    clearTimeout(this.startTimer);
    if (this.peer && this.ws.readyState === WebSocket.OPEN) {
      this.peer.leave();
      for (const { to, msg } of this.peer.drain()) if (to === EDGE) this.ws.send(encode(msg));
    }
    this.links?.close();
    this.ws.removeAllListeners('close');
    this.ws.on('error', () => undefined);
    this.ws.close();
    this.end(reason);
  }
}
