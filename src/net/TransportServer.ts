/**
 * The server shell: one UDP socket (path key = the peer's "ip:port") and, on the same port
 * number, a TCP listener for the fallback (path key "tcp:ip:port"), both feeding one core
 * Endpoint through one Driver. New sessions are emitted as 'session'.
 *
 *   const server = await TransportServer.listen({ port: 0, resolvePsk: (id) => tokens.get(id) });
 *   server.on('session', (s) => s.on('message', (m) => ...));
 *   await server.close();   // closes every session, both sockets and the timer
 */
import { createServer, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import type { Socket } from 'node:dgram';
import { once } from 'node:events';
import { Endpoint, type EndpointOptions } from '../transport/index.js';
import type { Datagram, SansIo, Session } from '../transport/api.js';
import { MAX_DATAGRAM } from '../wire/header.js';
import { EnhancedEmitter } from '../util/EnhancedEmitter.js';
import { Driver } from './Driver.js';
import { StreamConn } from './StreamConn.js';
import { TransportSession } from './TransportSession.js';
import { SERVER_RECV_BUFFER, bindUdp, defaultLogger, familyOf, parsePeerKey, peerKey, type NetLogger } from './udp.js';

/** What the server drives: the core Endpoint, or anything with the same shape. */
export interface SessionSource extends SansIo {
  pollEvent(): { type: 'session'; session: Session } | undefined;
}

export interface ServerListenOptions extends Omit<EndpointOptions, 'now'> {
  /** UDP port, and the TCP port of the fallback (0: any free port, the same for both). */
  port: number;
  /** Default '0.0.0.0'; an IPv6 address ('::') listens dual-stack. */
  host?: string;
  /** Listen on TCP too (default true). */
  tcp?: boolean;
  maxTcpConnections?: number;
  /** Per TCP connection: bytes queued before datagrams are dropped (default 256 KiB). */
  maxQueueBytes?: number;
  /** A TCP peer stalled this long with a full queue is cut (default 2000 ms). */
  stallCutMs?: number;
  logger?: NetLogger;
  /** UDP receive buffer asked of the kernel (default 8 MiB; capped by it, e.g. Linux net.core.rmem_max). */
  recvBufferBytes?: number;
  /** Builds the machine to drive (default: the core Endpoint). */
  endpoint?: (now: number) => SessionSource;
}

export type TransportServerEvents = {
  session: [session: TransportSession];
  error: [err: Error];
};

export class TransportServer extends EnhancedEmitter<TransportServerEvents> {
  private readonly sessions = new Set<TransportSession>();
  private readonly conns = new Map<string, StreamConn>();
  private readonly driver: Driver;
  private readonly log: NetLogger;
  private closing: Promise<void> | undefined;
  tcpRejected = 0;

  private constructor(
    private readonly o: ServerListenOptions,
    private readonly udp: Socket,
    private readonly tcp: TcpServer | undefined,
    private readonly machine: SessionSource,
    clock: () => number,
  ) {
    super();
    this.log = o.logger ?? defaultLogger();
    this.driver = new Driver({
      machine,
      clock,
      transmit: (d) => this.transmit(d),
      afterStep: () => this.afterStep(),
      onError: (e) => this.log.warn({ err: String(e) }, 'transport core threw; datagram dropped'),
    });
    udp.on('message', (msg, r) => this.driver.input(peerKey(r.address, r.port), msg));
    udp.on('error', (e) => this.log.warn({ err: (e as NodeJS.ErrnoException).code ?? e.message }, 'udp socket error (survived)'));
    tcp?.on('connection', (s) => this.accept(s));
    tcp?.on('error', (e) => this.log.warn({ err: e.message }, 'tcp listener error (survived)'));
  }

  static async listen(o: ServerListenOptions): Promise<TransportServer> {
    const host = o.host ?? '0.0.0.0';
    const family = familyOf(host);
    for (let attempt = 0; ; attempt++) {
      const udp = await bindUdp(family, o.port, host, o.recvBufferBytes ?? SERVER_RECV_BUFFER);
      const port = udp.address().port;
      if (o.tcp === false) return TransportServer.make(o, udp, undefined);
      const tcp = createServer();
      try {
        const failed = once(tcp, 'error').then(([e]) => Promise.reject(e as Error));
        tcp.listen(port, host);
        await Promise.race([once(tcp, 'listening'), failed]);
        failed.catch(() => {});
        return TransportServer.make(o, udp, tcp);
      } catch (e) {
        udp.close();
        // With port 0 the UDP port may be taken on TCP by someone else: try another.
        if (o.port !== 0 || attempt >= 10) throw e;
      }
    }
  }

  private static make(o: ServerListenOptions, udp: Socket, tcp: TcpServer | undefined): TransportServer {
    const clock = () => performance.now();
    const machine = o.endpoint ? o.endpoint(clock()) : new Endpoint({ ...o, now: clock() });
    const server = new TransportServer(o, udp, tcp, machine, clock);
    server.driver.kick();
    return server;
  }

  /** Datagrams the endpoint dropped before any session took them, by reason (a live object). */
  get dropped(): Readonly<Record<string, number>> {
    return (this.machine as { dropped?: Record<string, number> }).dropped ?? {};
  }

  /** The UDP receive buffer the kernel granted, bytes. */
  get recvBufferBytes(): number {
    return this.udp.getRecvBufferSize();
  }

  /** The port both UDP and TCP listen on. */
  get port(): number {
    return this.udp.address().port;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private transmit(d: Datagram): void {
    if (d.path.startsWith('tcp:')) {
      this.conns.get(d.path)?.send(d.data);
      return;
    }
    const peer = parsePeerKey(d.path);
    if (peer) this.udp.send(d.data, peer.port, peer.address);
  }

  private accept(s: TcpSocket): void {
    if (this.closing || this.conns.size >= (this.o.maxTcpConnections ?? 1024) || !s.remoteAddress || !s.remotePort) {
      this.tcpRejected++;
      s.destroy();
      return;
    }
    const key = `tcp:${peerKey(s.remoteAddress, s.remotePort)}`;
    const conn = new StreamConn(s, {
      maxFrame: MAX_DATAGRAM,
      maxQueueBytes: this.o.maxQueueBytes ?? 256 * 1024,
      stallCutMs: this.o.stallCutMs ?? 2000,
      clock: this.driver.clock,
      onDatagram: (data) => this.driver.input(key, data),
      onClose: (reason) => {
        this.conns.delete(key);
        this.log.debug({ peer: key, reason }, 'tcp connection closed');
      },
    });
    this.conns.set(key, conn);
  }

  private afterStep(): void {
    for (let e = this.machine.pollEvent(); e; e = this.machine.pollEvent()) {
      const ts: TransportSession = new TransportSession(e.session, () => this.driver.kickSoon(), this.driver.clock, () => this.sessions.delete(ts));
      this.sessions.add(ts);
      this.safeEmit('session', ts);
    }
    for (const s of this.sessions) s.drain();
  }

  /** Closes every session (peers are told), the sockets and the timer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    for (const s of this.sessions) s.core.close(this.driver.clock(), 'server closed');
    this.driver.kick();
    // Let the CLOSE datagrams leave before the socket goes.
    await new Promise((r) => setImmediate(r));
    for (const s of [...this.sessions]) s.markClosed('server closed', false);
    this.driver.close();
    for (const c of [...this.conns.values()]) c.close('server closed');
    const waits: Promise<unknown>[] = [new Promise<void>((r) => this.udp.close(() => r()))];
    if (this.tcp) waits.push(new Promise<void>((r) => this.tcp!.close(() => r())));
    await Promise.all(waits);
  }
}
