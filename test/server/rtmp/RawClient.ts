import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { decodeAmf0, encodeAmf0 } from '../../../src/media/amf0.js';
import { ChunkReader } from '../../../src/server/rtmp/ChunkReader.js';
import { ChunkWriter } from '../../../src/server/rtmp/ChunkWriter.js';
import type { RtmpMessage } from '../../../src/server/rtmp/messages.js';

/**
 * A bare RTMP client over a real socket for tests that need to say things ffmpeg never would:
 * simple handshake, then any chunks. Incoming chunks go through the server's own reader.
 */
export class RawClient {
  readonly messages: RtmpMessage[] = [];
  readonly writer = new ChunkWriter();
  readonly closed: Promise<void>;
  private readonly reader = new ChunkReader((m) => this.onMessage(m));
  private hsBuf: Buffer | undefined;
  private waiters: { pred: (m: RtmpMessage) => boolean; resolve: (m: RtmpMessage) => void }[] = [];
  isClosed = false;

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => ((this.isClosed = true), resolve())));
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => this.onData(d));
  }

  /** Connects to 127.0.0.1:port, from `localAddress` when given (another loopback address, 127.0.0.2...). */
  static async open(port: number, localAddress?: string): Promise<RawClient> {
    const s = connect({ port, host: '127.0.0.1', localAddress });
    await once(s, 'connect');
    return new RawClient(s);
  }

  /** Simple handshake (C1 version field 0); resolves when S0S1S2 is in and C2 is sent. */
  async handshake(): Promise<void> {
    this.hsBuf = Buffer.alloc(0);
    const c1 = Buffer.alloc(1536, 0x5a);
    c1.fill(0, 0, 8);
    this.socket.write(Buffer.concat([Buffer.from([3]), c1]));
    while (this.hsBuf.length < 3073 && !this.isClosed) {
      await Promise.race([once(this.socket, 'data'), this.closed]);
    }
    if (this.hsBuf.length < 3073) throw new Error('closed during handshake');
    this.socket.write(this.hsBuf.subarray(1, 1537));
    const rest = this.hsBuf.subarray(3073);
    this.hsBuf = undefined;
    if (rest.length) this.reader.push(rest);
  }

  private onData(d: Buffer): void {
    if (this.hsBuf !== undefined) {
      this.hsBuf = Buffer.concat([this.hsBuf, d]);
      return;
    }
    this.reader.push(d);
  }

  private onMessage(m: RtmpMessage): void {
    this.messages.push(m);
    this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
  }

  send(csid: number, type: number, streamId: number, timestamp: number, payload: Uint8Array): void {
    this.socket.write(this.writer.encode({ csid, type, streamId, timestamp }, payload));
  }

  command(streamId: number, name: string, tx: number, ...args: unknown[]): void {
    this.send(3, 20, streamId, 0, encodeAmf0(name, tx, ...args));
  }

  /** The first message (already received or coming) matching `pred`. */
  waitFor(pred: (m: RtmpMessage) => boolean, timeoutMs = 5000): Promise<RtmpMessage> {
    const have = this.messages.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
      this.waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  /** Waits for a command reply / onStatus with this name and, optionally, info code. */
  waitForCommand(name: string, code?: string, timeoutMs = 5000): Promise<unknown[]> {
    const match = (m: RtmpMessage): boolean => {
      if (m.type !== 20) return false;
      const v = decodeAmf0(m.payload);
      if (v[0] !== name) return false;
      return code === undefined || (v[3] as { code?: string } | undefined)?.code === code;
    };
    return this.waitFor(match, timeoutMs).then((m) => decodeAmf0(m.payload));
  }

  /** The _result / _error of the command sent with transaction id `tx`. */
  waitForReply(tx: number, timeoutMs = 5000): Promise<unknown[]> {
    return this.waitFor((m) => m.type === 20 && decodeAmf0(m.payload)[1] === tx, timeoutMs).then((m) => decodeAmf0(m.payload));
  }

  /** connect + createStream; resolves with the message stream id. */
  async connectAndCreate(app = 'live'): Promise<number> {
    this.command(0, 'connect', 1, { app, tcUrl: `rtmp://127.0.0.1/${app}` });
    await this.waitForCommand('_result', 'NetConnection.Connect.Success');
    this.command(0, 'createStream', 2, null);
    return (await this.waitForReply(2))[3] as number;
  }

  count(type: number): number {
    return this.messages.filter((m) => m.type === type).length;
  }

  close(): void {
    this.socket.destroy();
  }
}
