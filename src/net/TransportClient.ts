/**
 * The client shell: one UDP socket per local link (path key = the link's name), all sending to
 * the server, plus the TCP fallback (path key "tcp:ip:port", same port number as UDP).
 *
 *   const c = await TransportClient.connect({ host: '127.0.0.1', port, psk: token, identity: 'live/key' });
 *   c.session.sendFrame({ kind: 'video', data, keyframe: true, deadlineMs: 600 });
 *   await c.close();
 *
 * tcp 'auto' (default): the handshake starts over UDP; if it has no answer within `fallbackMs`
 * a second handshake starts over TCP and the first to finish wins. Once connected over UDP, a
 * UDP path that stops answering for `silenceMs` gets a TCP path added to the same session. While
 * the session runs on TCP, UDP is re-probed every `udpRetryMs`, so it comes back when it can.
 */
import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { lookup } from 'node:dns/promises';
import { createClientSession, type ClientOptions } from '../transport/index.js';
import type { Datagram, Session } from '../transport/api.js';
import { MAX_DATAGRAM } from '../wire/header.js';
import { Driver } from './Driver.js';
import { StreamConn } from './StreamConn.js';
import { TransportSession } from './TransportSession.js';
import { bindUdp, defaultLogger, familyOf, linkAddress, peerKey, type NetLogger } from './udp.js';
import { ClientConn } from './ClientConn.js';

export interface ConnectOptions extends Omit<ClientOptions, 'now' | 'path'> {
  host: string;
  port: number;
  /** The server's UDP port when it differs from its TCP port (default: port). */
  udpPort?: number;
  /** Local links: IP addresses or interface names; each gets a socket (default: one unbound link "udp0"). */
  links?: string[];
  tcp?: 'auto' | 'force' | 'never';
  fallbackMs?: number;
  silenceMs?: number;
  udpRetryMs?: number;
  /** Give up connecting after this long (default 10000 ms). */
  connectTimeoutMs?: number;
  maxQueueBytes?: number;
  stallCutMs?: number;
  logger?: NetLogger;
  /** Builds the session to drive (default: the core's createClientSession). */
  createSession?: (opts: ClientOptions) => Session;
}

/** The handshake was answered but cannot go on: a REFUSE from the server, or a server key the client does not trust. */
export class ConnectRefusedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ConnectRefusedError';
  }
}

interface Link {
  name: string;
  address: string | undefined;
  socket: Socket;
}

export class TransportClient {
  private readonly links = new Map<string, Link>();
  private tcp: StreamConn | undefined;
  private tcpPending = false;
  private readonly clock = () => performance.now();
  private readonly log: NetLogger;
  private readonly candidates: ClientConn[] = [];
  private winner: ClientConn | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private firstUnansweredUdp = -1;
  private lastUdpRetry = -Infinity;
  private udpRetries = 0;
  /** Datagrams received, by transport. */
  readonly received = { udp: 0, tcp: 0 };

  private constructor(private readonly o: ConnectOptions, private readonly server: { address: string; port: number; family: 4 | 6 }) {
    this.log = o.logger ?? defaultLogger();
  }

  get tcpKey(): string {
    return `tcp:${peerKey(this.server.address, this.server.port)}`;
  }

  /** The connected session. */
  get session(): TransportSession {
    if (!this.winner) throw new Error('not connected');
    return this.winner.session;
  }

  /** Whether the TCP fallback connection is open. */
  get tcpOpen(): boolean {
    return !!this.tcp && !this.tcp.isClosed;
  }

  static async connect(o: ConnectOptions): Promise<TransportClient> {
    const { address, family } = await lookup(o.host);
    const c = new TransportClient(o, { address, port: o.port, family: family === 6 ? 6 : 4 });
    try {
      await c.start();
      return c;
    } catch (e) {
      await c.close();
      throw e;
    }
  }

  private async start(): Promise<void> {
    const mode = this.o.tcp ?? 'auto';
    const names = this.o.links?.length ? this.o.links : ['udp0'];
    if (mode !== 'force') {
      for (const name of names) await this.openLink(name);
    }
    const connected = new Promise<ClientConn>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`no answer from ${this.o.host}:${this.o.port} within ${this.o.connectTimeoutMs ?? 10_000} ms`)), this.o.connectTimeoutMs ?? 10_000);
      const onWin = (c: ClientConn) => {
        clearTimeout(timeout);
        clearTimeout(fallback);
        resolve(c);
      };
      let fallback: NodeJS.Timeout | undefined;
      // A refusal or an untrusted server key ends the attempt at once, with its reason; a
      // handshake timeout on one transport leaves the other to try.
      const onFailed = (_c: ClientConn, reason: string): void => {
        if (reason === 'handshake timeout' || reason === 'client closed') return;
        clearTimeout(timeout);
        clearTimeout(fallback);
        reject(new ConnectRefusedError(reason));
      };
      if (mode === 'force') {
        this.startTcpCandidate(onWin, reject, onFailed);
      } else {
        this.addCandidate(names[0]!, onWin, onFailed);
        if (mode === 'auto') fallback = setTimeout(() => this.startTcpCandidate(onWin, () => {}, onFailed), this.o.fallbackMs ?? 1000);
      }
    });
    const win = await connected;
    this.winner = win;
    for (const c of this.candidates) if (c !== win) c.abandon();
    this.candidates.length = 0;
    this.candidates.push(win);
    const now = this.clock();
    for (const name of names) if (name !== win.firstPath) win.session.core.addPath(now, name);
    win.driver.kick();
    if (mode === 'auto') this.watchdog = setInterval(() => this.watch(), 250);
  }

  private addCandidate(firstPath: string, onWin: (c: ClientConn) => void, onFailed?: (c: ClientConn, reason: string) => void): ClientConn {
    const c = new ClientConn({
      firstPath,
      clock: this.clock,
      make: (now) => (this.o.createSession ?? createClientSession)({ ...this.o, now, path: firstPath }),
      transmit: (d) => this.transmit(d),
      onConnected: (cc) => {
        if (!this.winner) onWin(cc);
      },
      onFailed: (cc, reason) => {
        if (!this.winner && !this.closing) onFailed?.(cc, reason);
      },
      log: this.log,
    });
    this.candidates.push(c);
    return c;
  }

  private startTcpCandidate(onWin: (c: ClientConn) => void, onFail: (e: Error) => void, onFailed?: (c: ClientConn, reason: string) => void): void {
    this.openTcp()
      .then(() => {
        if (!this.winner && !this.closing) this.addCandidate(this.tcpKey, onWin, onFailed);
      })
      .catch(onFail);
  }

  private async openLink(name: string): Promise<void> {
    const address = name === 'udp0' && !this.o.links?.length ? undefined : linkAddress(name, this.server.family);
    const socket = await bindUdp(this.server.family, 0, address);
    const link: Link = { name, address, socket };
    socket.on('message', (msg) => {
      this.received.udp++;
      this.firstUnansweredUdp = -1;
      this.route(name, msg);
    });
    socket.on('error', (e) => this.log.warn({ link: name, err: (e as NodeJS.ErrnoException).code ?? e.message }, 'udp socket error (survived)'));
    this.links.set(name, link);
  }

  /** Closes a link's socket and opens a new one on another local port; the session keeps going. */
  async rebind(name = [...this.links.keys()][0]!): Promise<number> {
    const old = this.links.get(name);
    if (!old) throw new Error(`no link ${name}`);
    this.links.delete(name);
    await this.openLink(name);
    old.socket.close();
    return this.links.get(name)!.socket.address().port;
  }

  /** Local UDP port of a link. */
  localPort(name = [...this.links.keys()][0]!): number {
    return this.links.get(name)!.socket.address().port;
  }

  private async openTcp(): Promise<void> {
    if (this.tcpOpen || this.tcpPending) return;
    this.tcpPending = true;
    try {
      const s: TcpSocket = tcpConnect({ host: this.server.address, port: this.server.port });
      const failed = once(s, 'error').then(([e]) => Promise.reject(e as Error));
      await Promise.race([once(s, 'connect'), failed]);
      failed.catch(() => {});
      if (this.closing) {
        s.destroy();
        return;
      }
      this.tcp = new StreamConn(s, {
        maxFrame: MAX_DATAGRAM,
        maxQueueBytes: this.o.maxQueueBytes ?? 256 * 1024,
        stallCutMs: this.o.stallCutMs ?? 2000,
        clock: this.clock,
        onDatagram: (data) => {
          this.received.tcp++;
          this.route(this.tcpKey, data);
        },
        onClose: (reason) => this.log.debug({ reason }, 'tcp fallback closed'),
      });
    } finally {
      this.tcpPending = false;
    }
  }

  /** Path keys of re-probes ("udp0~3") name the same socket as the link. */
  private linkOf(path: string): Link | undefined {
    const i = path.indexOf('~');
    return this.links.get(i < 0 ? path : path.slice(0, i));
  }

  private transmit(d: Datagram): void {
    if (d.path.startsWith('tcp:')) {
      this.tcp?.send(d.data);
      return;
    }
    const link = this.linkOf(d.path);
    if (!link) return;
    if (this.firstUnansweredUdp < 0) this.firstUnansweredUdp = this.clock();
    link.socket.send(d.data, this.o.udpPort ?? this.server.port, this.server.address);
  }

  private route(path: string, data: Uint8Array): void {
    if (this.winner) return this.winner.input(this.winnerPathFor(path), data);
    const tcp = path.startsWith('tcp:');
    for (const c of this.candidates) if (c.firstPath.startsWith('tcp:') === tcp) c.input(path, data);
  }

  /** A datagram on a link's socket belongs to the link's newest probe key, if one was made. */
  private winnerPathFor(path: string): string {
    if (path.startsWith('tcp:') || this.udpRetries === 0) return path;
    return `${path}~${this.udpRetries}`;
  }

  /** Falls back to TCP when UDP goes silent; re-probes UDP while on TCP. */
  private watch(): void {
    const w = this.winner;
    if (!w || this.closing) return;
    const now = this.clock();
    const silent = this.firstUnansweredUdp >= 0 && now - this.firstUnansweredUdp > (this.o.silenceMs ?? 1000);
    if (silent && !this.tcpOpen && !this.tcpPending) {
      this.log.warn({ silentMs: Math.round(now - this.firstUnansweredUdp) }, 'udp silent: adding the tcp fallback path');
      this.openTcp()
        .then(() => {
          if (this.tcpOpen) {
            w.session.core.addPath(this.clock(), this.tcpKey);
            w.driver.kick();
          }
        })
        .catch((e: Error) => this.log.warn({ err: e.message }, 'tcp fallback failed; will retry'));
    }
    if (silent && this.tcpOpen && now - this.lastUdpRetry >= (this.o.udpRetryMs ?? 5000) && this.udpRetries < 50) {
      this.lastUdpRetry = now;
      this.udpRetries++;
      this.firstUnansweredUdp = -1;
      for (const name of this.links.keys()) w.session.core.addPath(now, `${name}~${this.udpRetries}`);
      w.driver.kick();
    }
  }

  /** Closes the session (the server is told), sockets and timers. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    for (const c of this.candidates) c.closeSession();
    await new Promise((r) => setImmediate(r));
    for (const c of this.candidates) c.abandon();
    this.tcp?.close('client closed');
    await Promise.all([...this.links.values()].map((l) => new Promise<void>((r) => l.socket.close(() => r()))));
    this.links.clear();
  }
}
