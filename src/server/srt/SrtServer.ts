/**
 * The SRT listener's I/O shell: one UDP socket and one timer around the sans-IO core
 * (src/srt/Listener.ts). Callers are routed by stream id: `m=publish` (or a plain APP/KEY)
 * publishes MPEG-TS into the Stream through the TS demuxer, so every output serves it;
 * `m=request` plays a live stream as MPEG-TS. Tokens travel in the stream id (`t=`) and are
 * checked by the same rules as RTMP's (src/server/auth.ts).
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { authorize, type AuthPolicy } from '../auth.js';
import type { Logger } from '../log.js';
import type { Registry } from '../Registry.js';
import { PublishRefusedError, type Stream } from '../Stream.js';
import type { BackpressureLimits } from '../Subscriber.js';
import { Listener, type AcceptDecision, type AcceptRequest, type Accepted } from '../../srt/Listener.js';
import { Reject } from '../../srt/handshake.js';
import { parseStreamId, type StreamRequest } from '../../srt/streamId.js';
import { SrtPublisher } from './SrtPublisher.js';
import { SrtSubscriber } from './SrtSubscriber.js';

export interface SrtServerOptions {
  registry: Registry;
  logger: Logger;
  auth: AuthPolicy;
  viewerLimits: BackpressureLimits;
  /** Receiving delay offered to callers, ms (a caller may ask for more). Default 120, as libsrt. */
  latencyMs?: number;
  /** Every caller must encrypt with this passphrase (10..79 characters, as libsrt). */
  passphrase?: string | undefined;
  maxConnections?: number;
}

export interface SrtServerStats {
  connectionsOpen: number;
  connectionsTotal: number;
  publishes: number;
  plays: number;
  bytesIn: number;
  bytesOut: number;
}

interface Handler {
  messages(list: Uint8Array[]): void;
  closed(reason: string): void;
}

export class SrtServer {
  readonly stats: SrtServerStats = { connectionsOpen: 0, connectionsTotal: 0, publishes: 0, plays: 0, bytesIn: 0, bytesOut: 0 };
  readonly listener: Listener;
  /**
   * Sees every message a publish delivers (performance.now() time), just before the demuxer:
   * `tributary bench srt` measures the receiver's own delay and keeps the TS with it.
   */
  tap: ((connId: number, payload: Uint8Array, now: number) => void) | undefined;
  private socket: Socket | undefined;
  private readonly handlers = new Map<number, Handler>();
  /** The decision for each accepted caller, from `accept` to `onAccepted` (same tick). */
  private readonly pending = new Map<string, StreamRequest>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly log: Logger;
  private closing = false;
  private flushQueued = false;

  constructor(private readonly o: SrtServerOptions) {
    this.log = o.logger.child({ component: 'srt' });
    this.listener = new Listener({
      latencyMs: o.latencyMs ?? 120,
      passphrase: o.passphrase,
      maxConnections: o.maxConnections ?? 1000,
      accept: (req) => this.accept(req),
    });
  }

  /** Refused and dropped input by reason (the core's counters). */
  get counters(): Readonly<Record<string, number>> {
    return this.listener.counters;
  }

  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  async listen(port: number, host: string): Promise<number> {
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    this.socket = s;
    s.on('message', (data, rinfo) => this.onDatagram(data, { address: rinfo.address, port: rinfo.port }));
    s.on('error', (err) => this.log.warn({ err: err.message }, 'srt socket error'));
    s.bind(port, host);
    await once(s, 'listening');
    return this.port;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const now = performance.now();
    for (const id of [...this.listener.connections.keys()]) this.listener.close(id, 'server shutting down', now);
    this.flush();
    if (this.timer) clearTimeout(this.timer);
    const s = this.socket;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  private onDatagram(data: Buffer, peer: { address: string; port: number }): void {
    if (this.closing) return;
    const now = performance.now();
    this.stats.bytesIn += data.length;
    this.listener.handle(data, peer, now);
    this.flush();
  }

  private accept(req: AcceptRequest): AcceptDecision {
    const r = parseStreamId(req.streamId);
    if ('error' in r) return { reject: Reject.BadRequest, reason: `${r.error} (${JSON.stringify(req.streamId.slice(0, 80))})` };
    const action = r.mode === 'publish' ? 'publish' : 'play';
    const auth = authorize(this.o.auth, { action, app: r.app, key: r.key, token: r.token });
    if (!auth.ok) return { reject: r.token ? Reject.Forbidden : Reject.Unauthorized, reason: auth.reason };
    const stream = this.o.registry.find(r.app, r.key);
    if (r.mode === 'publish') {
      if (stream?.isLive) return { reject: Reject.Conflict, reason: `stream ${stream.path} is already being published` };
    } else if (!stream || (!stream.isLive && !this.o.registry.apps.get(r.app)?.inGrace(stream))) {
      return { reject: Reject.NotFound, reason: `stream ${r.app}/${r.key} is not live` };
    }
    this.pending.set(`${req.peer.address}:${req.peer.port}:${req.streamId}`, r);
    return { accept: true, role: r.mode === 'publish' ? 'receive' : 'send' };
  }

  /** Sends what the core produced, starts what it accepted, ends what it closed, re-arms the timer. */
  private flush(): void {
    const now = performance.now();
    for (const a of this.listener.drainAccepted()) this.onAccepted(a, now);
    for (const r of this.listener.drainRejected()) this.log.info({ remote: `${r.peer.address}:${r.peer.port}`, code: r.code, reason: r.reason }, 'srt: caller rejected');
    for (const [id, e] of this.listener.connections) {
      const h = this.handlers.get(id);
      const msgs = e.conn.drainMessages();
      if (h && msgs.length) h.messages(msgs);
    }
    for (const c of this.listener.drainClosed()) {
      const h = this.handlers.get(c.id);
      this.handlers.delete(c.id);
      this.stats.connectionsOpen--;
      h?.closed(c.reason);
      this.log.info({ conn: c.id.toString(16), reason: c.reason }, 'srt connection closed');
    }
    // Handlers may have sent (a subscriber's GOP replay) or closed: collect again.
    for (const a of this.listener.drainAccepted()) this.onAccepted(a, now);
    // A decision whose caller was then refused (wrong passphrase) has no connection to claim it.
    this.pending.clear();
    const s = this.socket;
    for (const o of this.listener.drainOutgoing()) {
      this.stats.bytesOut += o.data.length;
      s?.send(o.data, o.peer.port, o.peer.address);
    }
    this.arm();
  }

  private arm(): void {
    if (this.closing) return;
    const next = this.listener.nextWake();
    if (next === Infinity) return;
    if (this.timer && next >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.listener.poll(performance.now());
      this.flush();
    }, Math.max(0, next - performance.now()));
  }

  private onAccepted(a: Accepted, now: number): void {
    const key = `${a.peer.address}:${a.peer.port}:${a.streamId}`;
    const r = this.pending.get(key);
    this.pending.delete(key);
    this.stats.connectionsOpen++;
    this.stats.connectionsTotal++;
    const remote = `${a.peer.address}:${a.peer.port}`;
    const name = `srt-${a.id.toString(16)}`;
    if (!r) return this.listener.close(a.id, 'internal: no decision', now);
    const app = this.o.registry.app(r.app);
    const stream = app.stream(r.key);
    if (r.mode === 'publish') this.startPublish(a, stream, name, remote);
    else this.startPlay(a, stream, name, remote);
  }

  private startPublish(a: Accepted, stream: Stream, name: string, remote: string): void {
    const pub = new SrtPublisher(name, remote, stream, (reason) => this.kick(a.id, reason));
    let role;
    try {
      role = stream.publish(pub, { standby: true });
    } catch (err) {
      if (!(err instanceof PublishRefusedError)) throw err;
      this.o.registry.apps.get(stream.app)?.release(stream);
      return this.kick(a.id, err.message);
    }
    this.stats.publishes++;
    this.log.info({ conn: name, remote, stream: stream.path, latencyMs: a.conn.o.recvLatencyMs, encrypted: !!a.conn.o.cipher, role }, 'srt: publish');
    this.handlers.set(a.id, {
      messages: (list) => {
        const now = performance.now();
        for (const m of list) {
          this.tap?.(a.id, m, now);
          pub.handle(m);
        }
      },
      closed: () => {
        stream.unpublish(pub);
        this.o.registry.apps.get(stream.app)?.release(stream);
      },
    });
  }

  private startPlay(a: Accepted, stream: Stream, name: string, remote: string): void {
    const sub = new SrtSubscriber(name, remote, this.o.viewerLimits, {
      send: (payload) => {
        this.listener.send(a.id, payload, performance.now());
        this.soon();
      },
      pendingBytes: () => a.conn.sender.pendingBytes,
      close: (reason) => this.kick(a.id, reason),
    });
    this.stats.plays++;
    this.log.info({ conn: name, remote, stream: stream.path }, 'srt: play');
    this.handlers.set(a.id, {
      messages: () => undefined,
      closed: (reason) => {
        stream.unsubscribe(sub);
        sub.close(reason);
        this.o.registry.apps.get(stream.app)?.release(stream);
      },
    });
    stream.subscribe(sub);
  }

  private kick(id: number, reason: string): void {
    this.listener.close(id, reason, performance.now());
    this.soon();
  }

  /**
   * Called from inside Stream/Subscriber code (a frame from any publisher, a kick): what the core
   * queued goes out on the next turn of the loop, once for all the frames of this turn.
   */
  private soon(): void {
    if (this.flushQueued || this.closing) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush();
    });
  }
}
