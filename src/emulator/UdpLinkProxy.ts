import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { once } from 'node:events';
import type { LinkConfig } from './LinkConfig.js';
import { LinkModel } from './LinkModel.js';
import { EnhancedEmitter } from '../util/EnhancedEmitter.js';

export type ProxyEvents = {
  /** A datagram entered the link model: direction and copies to be delivered (0 = dropped). */
  datagram: [direction: 'up' | 'down', copies: number];
};

export interface UdpLinkProxyOptions {
  /** Where client datagrams go (the server side). */
  target: { host: string; port: number };
  /** Port to listen on at 127.0.0.1; 0 (default) picks one. */
  listenPort?: number;
  /** Client -> target direction. */
  up: LinkConfig;
  /** Target -> client direction. */
  down: LinkConfig;
  /**
   * Links of their own for datagrams from these client IPs (a bonded sender's local
   * addresses, e.g. 127.0.0.2-4): each gets its own pair of link models; others use up/down.
   */
  bySource?: Record<string, { up: LinkConfig; down: LinkConfig }>;
  seed?: number;
  /** Clock in ms; default performance.now. */
  now?: () => number;
}

interface Hop {
  socket: Socket;
  port: number;
  address: string;
  data: Buffer;
}

/**
 * A real UDP proxy on loopback that runs every datagram through a LinkModel per direction,
 * for any UDP protocol (our transport, SRT). Like a NAT, each client address gets its own
 * upstream socket, so the target sees a distinct source port per client and a client that
 * changes port looks like a new address to the target.
 */
export class UdpLinkProxy extends EnhancedEmitter<ProxyEvents> {
  readonly upLink: LinkModel<Hop>;
  readonly downLink: LinkModel<Hop>;
  private readonly listener: Socket;
  private readonly upstream = new Map<string, Socket>();
  private readonly sourceLinks = new Map<string, { up: LinkModel<Hop>; down: LinkModel<Hop> }>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;

  constructor(private readonly opts: UdpLinkProxyOptions) {
    super();
    const seed = opts.seed ?? 1;
    this.upLink = new LinkModel<Hop>(opts.up, seed);
    this.downLink = new LinkModel<Hop>(opts.down, seed + 0x51ed);
    let i = 1;
    for (const [ip, l] of Object.entries(opts.bySource ?? {})) {
      this.sourceLinks.set(ip, { up: new LinkModel<Hop>(l.up, seed + 7919 * i), down: new LinkModel<Hop>(l.down, seed + 0x51ed + 7919 * i) });
      i++;
    }
    this.now = opts.now ?? (() => performance.now());
    this.listener = createSocket('udp4');
    this.listener.on('message', (data, rinfo) => this.fromClient(data, rinfo));
    this.listener.on('error', () => {});
  }

  async listen(): Promise<number> {
    this.listener.bind(this.opts.listenPort ?? 0, '127.0.0.1');
    await once(this.listener, 'listening');
    return this.port;
  }

  get port(): number {
    return this.listener.address().port;
  }

  /** Drops everything in both directions until unblock() (simulates UDP being blocked). */
  block(): void {
    this.upLink.block();
    this.downLink.block();
  }

  unblock(): void {
    this.upLink.unblock();
    this.downLink.unblock();
  }

  /** Blocks (or unblocks) only the link of one client IP given in `bySource` (a link dies). */
  blockSource(ip: string, blocked = true): void {
    const l = this.sourceLinks.get(ip);
    if (!l) throw new Error(`no link for ${ip}`);
    for (const m of [l.up, l.down]) if (blocked) m.block(); else m.unblock();
  }

  private linksOf(ip: string): { up: LinkModel<Hop>; down: LinkModel<Hop> } {
    return this.sourceLinks.get(ip) ?? { up: this.upLink, down: this.downLink };
  }

  private *allLinks(): Generator<LinkModel<Hop>> {
    yield this.upLink;
    yield this.downLink;
    for (const l of this.sourceLinks.values()) {
      yield l.up;
      yield l.down;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.listener.close();
    for (const s of this.upstream.values()) s.close();
    this.upstream.clear();
  }

  private fromClient(data: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    const links = this.linksOf(rinfo.address);
    let up = this.upstream.get(key);
    if (!up) {
      if (this.upstream.size >= 1024) return;
      up = createSocket('udp4');
      up.on('error', () => {});
      up.bind(0, '127.0.0.1');
      const back = { address: rinfo.address, port: rinfo.port };
      up.on('message', (d) => this.offer(links.down, 'down', { socket: this.listener, ...back, data: d }));
      this.upstream.set(key, up);
    }
    this.offer(links.up, 'up', { socket: up, address: this.opts.target.host, port: this.opts.target.port, data });
  }

  private offer(link: LinkModel<Hop>, direction: 'up' | 'down', hop: Hop): void {
    if (this.closed) return;
    const copies = link.send(this.now(), hop.data.length, hop);
    this.flush();
    this.safeEmit('datagram', direction, copies);
  }

  private flush(): void {
    if (this.closed) return;
    const now = this.now();
    let next = Infinity;
    for (const link of this.allLinks()) {
      for (let d = link.poll(now); d; d = link.poll(now)) {
        const h = d.payload;
        h.socket.send(h.data, h.port, h.address, () => {});
      }
    }
    for (const link of this.allLinks()) next = Math.min(next, link.nextTime() ?? Infinity);
    if (next === Infinity) return;
    if (this.timer && next >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.flush();
    }, Math.max(0, next - now));
  }
}
