/**
 * Publishes a stream to an RTMP server, as ffmpeg's `-f flv rtmp://...` does: simple handshake,
 * connect, releaseStream/FCPublish/createStream, publish, then onMetaData, configs and frames.
 * Used by the fanout benchmark to push the same synthetic stream into any server, and by relays.
 * `play` is the viewer's side of the same exchange (createStream, play), as ffplay does; the
 * soak benchmark's RTMP viewers use it.
 *
 *   const c = await RtmpPushClient.publish('rtmp://127.0.0.1:1935/live/key');
 *   c.sendConfig(videoConfig); c.sendFrame(frame);
 *   c.close();
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Amf0EcmaArray, decodeAmf0, encodeAmf0 } from '../../media/amf0.js';
import { buildAudioConfigTag, buildAudioTag, buildVideoConfigTag, buildVideoTag } from '../../media/flv/tagBody.js';
import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { ChunkReader } from './ChunkReader.js';
import { ChunkWriter } from './ChunkWriter.js';
import { Csid, MessageType, setChunkSizeBody, type RtmpMessage } from './messages.js';

const HANDSHAKE_SIZE = 1536;
const OUT_CHUNK_SIZE = 4096;

export class RtmpPushClient {
  private readonly writer = new ChunkWriter();
  private readonly reader: ChunkReader;
  private waiters: { pred: (m: RtmpMessage) => boolean; resolve: (m: RtmpMessage) => void; reject: (e: Error) => void }[] = [];
  private streamId = 0;
  private closedError: Error | undefined;
  /** A player's audio, video and data messages, once play has started. */
  private onMedia: ((m: RtmpMessage) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    this.reader = new ChunkReader((m) => this.onMessage(m));
    socket.setNoDelay(true);
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('RTMP connection closed')));
  }

  /** Connects and publishes; rejects with the server's status description when it refuses. */
  static async publish(url: string, timeoutMs = 5000, localAddress?: string): Promise<RtmpPushClient> {
    return RtmpPushClient.open(url, timeoutMs, localAddress, (c, tcUrl, app, key) => c.start(tcUrl, app, key));
  }

  /**
   * Connects and plays: `onMedia` gets every audio, video and data message from the first one
   * on. Rejects with the server's status description when it refuses.
   */
  static async play(url: string, onMedia: (m: RtmpMessage) => void, timeoutMs = 5000, localAddress?: string): Promise<RtmpPushClient> {
    return RtmpPushClient.open(url, timeoutMs, localAddress, (c, tcUrl, app, key) => c.startPlay(tcUrl, app, key, onMedia));
  }

  /** Resolves when the connection has closed, with why. */
  get closed(): Promise<Error> {
    if (this.closedError) return Promise.resolve(this.closedError);
    return new Promise((resolve) => this.socket.once('close', () => resolve(this.closedError ?? new Error('RTMP connection closed'))));
  }

  private static async open(
    url: string, timeoutMs: number, localAddress: string | undefined, begin: (c: RtmpPushClient, tcUrl: string, app: string, key: string) => Promise<void>,
  ): Promise<RtmpPushClient> {
    const u = new URL(url);
    if (u.protocol !== 'rtmp:') throw new Error(`not an rtmp:// URL: ${url}`);
    const parts = u.pathname.split('/').filter(Boolean);
    if (parts.length < 2) throw new Error(`RTMP URL needs /app/key: ${url}`);
    const key = parts.pop()! + u.search;
    const app = parts.join('/');
    const socket = connect({ port: Number(u.port || 1935), host: u.hostname, localAddress });
    const timer = setTimeout(() => socket.destroy(new Error(`RTMP publish to ${url} timed out`)), timeoutMs);
    try {
      await once(socket, 'connect');
      const c = new RtmpPushClient(socket);
      await c.handshake();
      await begin(c, `rtmp://${u.host}/${app}`, app, key);
      return c;
    } catch (e) {
      socket.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Bytes written but not yet taken by the kernel: a caller pacing frames can watch this. */
  get pending(): number {
    return this.socket.writableLength;
  }

  sendMetadata(values: Record<string, unknown>): void {
    this.send(Csid.Data, MessageType.DataAmf0, 0, encodeAmf0('@setDataFrame', 'onMetaData', new Amf0EcmaArray(values)));
  }

  sendConfig(config: CodecConfig): void {
    const video = config.kind === 'video';
    this.send(video ? Csid.Video : Csid.Audio, video ? MessageType.Video : MessageType.Audio, 0, video ? buildVideoConfigTag(config) : buildAudioConfigTag(config));
  }

  sendFrame(frame: MediaFrame): void {
    if (frame.kind === 'data') return;
    const video = frame.kind === 'video';
    const body = video ? buildVideoTag(frame) : buildAudioTag(frame);
    this.send(video ? Csid.Video : Csid.Audio, video ? MessageType.Video : MessageType.Audio, Math.round(frame.dts), body);
  }

  close(): void {
    this.socket.destroy();
  }

  private async handshake(): Promise<void> {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => void (buf = Buffer.concat([buf, d]));
    this.socket.on('data', onData);
    const c1 = randomBytes(HANDSHAKE_SIZE);
    c1.fill(0, 0, 8); // time 0, version 0: the simple handshake every server accepts
    this.socket.write(Buffer.concat([Buffer.from([3]), c1]));
    while (buf.length < 1 + 2 * HANDSHAKE_SIZE) {
      if (this.closedError) throw this.closedError;
      await Promise.race([once(this.socket, 'data'), once(this.socket, 'close')]);
    }
    this.socket.off('data', onData);
    if (buf[0] !== 3) throw new Error(`RTMP server answered version ${buf[0]}`);
    this.socket.write(buf.subarray(1, 1 + HANDSHAKE_SIZE)); // C2 echoes S1
    this.socket.on('data', (d: Buffer) => this.read(d));
    const rest = buf.subarray(1 + 2 * HANDSHAKE_SIZE);
    if (rest.length) this.read(rest);
  }

  private async start(tcUrl: string, app: string, key: string): Promise<void> {
    this.send(Csid.Control, MessageType.SetChunkSize, 0, setChunkSizeBody(OUT_CHUNK_SIZE));
    this.writer.chunkSize = OUT_CHUNK_SIZE;
    this.command(0, 'connect', 1, { app, type: 'nonprivate', flashVer: 'FMLE/3.0', tcUrl });
    const connected = await this.reply(1);
    if (connected[0] !== '_result') throw new Error(`RTMP connect refused: ${describe(connected[3])}`);
    this.command(0, 'releaseStream', 2, null, key);
    this.command(0, 'FCPublish', 3, null, key);
    this.command(0, 'createStream', 4, null);
    const created = await this.reply(4);
    if (created[0] !== '_result' || typeof created[3] !== 'number') throw new Error('RTMP createStream refused');
    this.streamId = created[3];
    this.command(this.streamId, 'publish', 5, null, key, 'live');
    const status = await this.waitFor((m) => m.type === MessageType.CommandAmf0 && decodeAmf0(m.payload)[0] === 'onStatus');
    const info = decodeAmf0(status.payload)[3] as { code?: string } | undefined;
    if (info?.code !== 'NetStream.Publish.Start') throw new Error(`RTMP publish refused: ${describe(info)}`);
  }

  private async startPlay(tcUrl: string, app: string, key: string, onMedia: (m: RtmpMessage) => void): Promise<void> {
    this.command(0, 'connect', 1, { app, flashVer: 'LNX 9,0,124,2', tcUrl, fpad: false, capabilities: 15, audioCodecs: 4071, videoCodecs: 252, videoFunction: 1 });
    const connected = await this.reply(1);
    if (connected[0] !== '_result') throw new Error(`RTMP connect refused: ${describe(connected[3])}`);
    this.command(0, 'createStream', 2, null);
    const created = await this.reply(2);
    if (created[0] !== '_result' || typeof created[3] !== 'number') throw new Error('RTMP createStream refused');
    this.streamId = created[3];
    this.onMedia = onMedia;
    this.command(this.streamId, 'play', 3, null, key, -2);
    const status = await this.waitFor((m) => m.type === MessageType.CommandAmf0 && decodeAmf0(m.payload)[0] === 'onStatus');
    const info = decodeAmf0(status.payload)[3] as { code?: string } | undefined;
    if (info?.code !== 'NetStream.Play.Start' && info?.code !== 'NetStream.Play.Reset') throw new Error(`RTMP play refused: ${describe(info)}`);
  }

  private read(d: Uint8Array): void {
    try {
      this.reader.push(d);
    } catch (e) {
      this.socket.destroy(e as Error);
    }
  }

  private onMessage(m: RtmpMessage): void {
    if (m.type === MessageType.SetChunkSize && m.payload.length >= 4) {
      this.reader.chunkSize = new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0) & 0x7fffffff;
      return;
    }
    if (this.onMedia && (m.type === MessageType.Audio || m.type === MessageType.Video || m.type === MessageType.DataAmf0)) {
      this.onMedia(m);
      return;
    }
    this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
  }

  private send(csid: number, type: number, timestamp: number, payload: Uint8Array): void {
    const streamId = type === MessageType.SetChunkSize || type === MessageType.CommandAmf0 ? 0 : this.streamId;
    this.socket.write(this.writer.encode({ csid, type, streamId, timestamp }, payload));
  }

  private command(streamId: number, name: string, tx: number, ...args: unknown[]): void {
    this.socket.write(this.writer.encode({ csid: Csid.Command, type: MessageType.CommandAmf0, streamId, timestamp: 0 }, encodeAmf0(name, tx, ...args)));
  }

  private async reply(tx: number): Promise<unknown[]> {
    const m = await this.waitFor((msg) => msg.type === MessageType.CommandAmf0 && decodeAmf0(msg.payload)[1] === tx);
    return decodeAmf0(m.payload);
  }

  private waitFor(pred: (m: RtmpMessage) => boolean): Promise<RtmpMessage> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => this.waiters.push({ pred, resolve, reject }));
  }

  private fail(e: Error): void {
    this.closedError ??= e;
    for (const w of this.waiters) w.reject(this.closedError);
    this.waiters = [];
  }
}

function describe(info: unknown): string {
  const i = info as { code?: string; description?: string } | undefined;
  return [i?.code, i?.description].filter(Boolean).join(': ') || 'no reason given';
}
