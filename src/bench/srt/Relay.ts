import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

/**
 * A one-client UDP relay in front of an SRT receiver, on the receiver's side of the link
 * emulator: it notes when each data packet's payload first reaches the receiver, then passes
 * every datagram on at once, both ways. The receiver's own delay is measured from here
 * (see `payloadKey`); nothing is changed on the way.
 */
export class Relay {
  /** payloadKey -> performance.now() of the first arrival. */
  readonly arrivals = new Map<string, number>();
  private readonly socket: Socket;
  private client: { address: string; port: number } | undefined;

  private constructor(private readonly target: { host: string; port: number }) {
    this.socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    this.socket.on('error', () => {});
    this.socket.on('message', (d, r) => {
      if (r.port === target.port && r.address === target.host) {
        if (this.client) this.socket.send(d, this.client.port, this.client.address);
        return;
      }
      this.client = { address: r.address, port: r.port };
      // Data packets (top bit of the first word clear) carry a payload after the 16-byte header.
      if (d.length > 16 && (d[0]! & 0x80) === 0) {
        const k = payloadKey(d.subarray(16));
        if (!this.arrivals.has(k)) this.arrivals.set(k, performance.now());
      }
      this.socket.send(d, target.port, target.host);
    });
  }

  static async start(target: { host: string; port: number }): Promise<Relay> {
    const r = new Relay(target);
    r.socket.bind(0, '127.0.0.1');
    await once(r.socket, 'listening');
    return r;
  }

  get port(): number {
    return this.socket.address().port;
  }

  close(): void {
    this.socket.close();
  }
}

/** Names a payload by its bytes: what arrived and what the receiver delivered are matched by this. */
export function payloadKey(p: Uint8Array): string {
  return createHash('sha1').update(p).digest('base64');
}
