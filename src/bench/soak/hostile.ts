/**
 * One hostile client per protocol, running beside the soak's real traffic and starting over
 * each time the server cuts it. Each counts its attempts and how they ended, so the report can
 * say the server refused them rather than fell over:
 * - rtmp: chunk size 1, then an 8 MiB message fed one byte per chunk (the crash of issue 10);
 * - http: slowloris connections (a header line every 2 s) and garbage requests;
 * - ws: oversized and garbage frames on an upgraded connection;
 * - udp: random datagrams and truncated handshakes at the transport port.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface HostileTarget {
  host: string;
  /** Where the attacks come from: an address of their own, as an attacker's would be. */
  localAddress: string;
  httpPort: number;
  rtmpPort: number;
  transportPort: number;
}

export type HostileCounts = Record<string, number>;

export class HostileClients {
  readonly counts: HostileCounts = {};
  private stopped = false;
  private readonly sockets = new Set<Socket>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly udp = createSocket('udp4');

  constructor(private readonly t: HostileTarget) {}

  start(): void {
    for (let i = 0; i < 2; i++) this.rtmp();
    for (let i = 0; i < 20; i++) this.slowloris();
    this.timers.push(setInterval(() => this.garbageHttp(), 200));
    this.ws();
    this.udp.on('error', () => this.count('udp_error'));
    this.udp.bind(0, this.t.localAddress);
    this.timers.push(setInterval(() => this.udpBurst(), 10));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.destroy();
    this.udp.close();
  }

  private count(k: string, n = 1): void {
    this.counts[k] = (this.counts[k] ?? 0) + n;
  }

  private open(port: number, name: string, onConnect: (s: Socket) => void, again: () => void): void {
    if (this.stopped) return;
    const s = connect({ port, host: this.t.host, localAddress: this.t.localAddress });
    this.sockets.add(s);
    this.count(`${name}_attempts`);
    s.on('connect', () => onConnect(s));
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => {
      this.sockets.delete(s);
      this.count(`${name}_cut`);
      if (!this.stopped) setTimeout(again, 100);
    });
  }

  private rtmp(): void {
    this.open(this.t.rtmpPort, 'rtmp_chunk1', (s) => {
      s.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)])); // C0 + C1
      let got = 0;
      s.on('data', (d: Buffer) => {
        const before = got;
        got += d.length;
        // once, when S0 + S1 + S2 are in: C2, then the attack
        if (before < 1 + 2 * 1536 && got >= 1 + 2 * 1536) {
          s.write(Buffer.alloc(1536)); // C2
          // Set Chunk Size 1 on csid 2, then a video message of 8 MiB on csid 4, type 0 header
          s.write(Buffer.from([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 1]));
          s.write(Buffer.from([0x04, 0, 0, 0, 0x80, 0, 0, 9, 1, 0, 0, 0]));
          this.feedOneByteChunks(s);
        }
      });
    }, () => this.rtmp());
  }

  /** One payload byte per chunk (a type-3 header byte before each), as fast as the socket takes it. */
  private feedOneByteChunks(s: Socket): void {
    const block = Buffer.alloc(64 * 1024);
    for (let i = 0; i < block.length; i += 2) block[i] = 0xc4;
    const pump = (): void => {
      while (!s.destroyed && s.write(block)) this.count('rtmp_chunk1_bytes', block.length);
      if (!s.destroyed) s.once('drain', pump);
    };
    pump();
  }

  private slowloris(): void {
    this.open(this.t.httpPort, 'http_slowloris', (s) => {
      s.write(`GET /live/x.flv HTTP/1.1\r\nHost: x\r\n`);
      const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write(`X-${randomBytes(4).toString('hex')}: 1\r\n`)), 2000);
      s.on('close', () => clearInterval(t));
    }, () => this.slowloris());
  }

  private garbageHttp(): void {
    if (this.stopped) return;
    const s = connect({ port: this.t.httpPort, host: this.t.host, localAddress: this.t.localAddress });
    this.count('http_garbage_attempts');
    s.on('connect', () => s.end(randomBytes(512 + Math.floor(Math.random() * 8192))));
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => this.count('http_garbage_cut'));
  }

  private ws(): void {
    this.open(this.t.httpPort, 'ws_garbage', (s) => {
      s.write(
        `GET /live/soak0.flv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      // a masked binary frame claiming 2^40 bytes, then garbage
      const t = setTimeout(() => {
        s.write(Buffer.from([0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
        s.write(randomBytes(4096));
      }, 200);
      s.on('close', () => clearTimeout(t));
    }, () => this.ws());
  }

  private udpBurst(): void {
    if (this.stopped) return;
    for (let i = 0; i < 20; i++) {
      const n = 1 + Math.floor(Math.random() * 1400);
      const d = randomBytes(n);
      // every other one looks like the start of a long header (the handshake's first byte)
      if (i % 2 === 0) d[0] = 0xc0 | (d[0]! & 0x0f);
      this.udp.send(d, this.t.transportPort, this.t.host);
    }
    this.count('udp_datagrams', 20);
  }
}
