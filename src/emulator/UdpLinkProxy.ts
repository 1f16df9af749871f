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
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;

  constructor(private readonly opts: UdpLinkProxyOptions) {
    super();
    const seed = opts.seed ?? 1;
    this.upLink = new LinkModel<Hop>(opts.up, seed);
    this.downLink = new LinkModel<Hop>(opts.down, seed + 0x51ed);
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
    let up = this.upstream.get(key);
    if (!up) {
      if (this.upstream.size >= 1024) return;
      up = createSocket('udp4');
      up.on('error', () => {});
      up.bind(0, '127.0.0.1');
      const back = { address: rinfo.address, port: rinfo.port };
      up.on('message', (d) => this.offer(this.downLink, { socket: this.listener, ...back, data: d }));
      this.upstream.set(key, up);
    }
    this.offer(this.upLink, { socket: up, address: this.opts.target.host, port: this.opts.target.port, data });
  }

  private offer(link: LinkModel<Hop>, hop: Hop): void {
    if (this.closed) return;
    const copies = link.send(this.now(), hop.data.length, hop);
    this.flush();
    this.safeEmit('datagram', link === this.upLink ? 'up' : 'down', copies);
  }

  private flush(): void {
    if (this.closed) return;
    const now = this.now();
    for (const link of [this.upLink, this.downLink]) {
      for (let d = link.poll(now); d; d = link.poll(now)) {
        const h = d.payload;
        h.socket.send(h.data, h.port, h.address, () => {});
      }
    }
    const next = Math.min(this.upLink.nextTime() ?? Infinity, this.downLink.nextTime() ?? Infinity);
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
