import { encodeAmf0 } from '../../media/amf0.js';
import { PublishRefusedError, type Stream } from '../Stream.js';
import { isValidName, type Registry } from '../Registry.js';
import { RtmpPublisher, type DropReason } from './RtmpPublisher.js';
import { RtmpSubscriber } from './RtmpSubscriber.js';
import { appName, mergeQueries, splitName } from './streamName.js';
import { Csid, MessageType, UserControlEvent, commandBody, status, userControlBody, windowAckSizeBody, setPeerBandwidthBody, setChunkSizeBody, type RtmpMessage } from './messages.js';
import type { RtmpAuthorize, RtmpLogger, RtmpOptions, RtmpStats } from './types.js';

/** What the session needs from its connection. */
export interface SessionHost {
  readonly id: string;
  readonly remote: string;
  readonly log: RtmpLogger;
  send(msg: Omit<RtmpMessage, 'payload'>, body: Uint8Array, head?: Uint8Array): void;
  pending(): number;
  setOutChunkSize(size: number): void;
  /** A token check that the server requires passed: the connection is no longer anonymous. */
  authenticated(): void;
  /** Closes after flushing what was sent (refusals reach the client). */
  end(reason: string): void;
  /** Closes at once for a protocol violation, counted under `reason`. */
  fail(reason: string, detail: string): void;
  dropped(reason: DropReason | 'media without publish', detail: string): void;
}

export interface SessionContext {
  registry: Registry;
  authorize: RtmpAuthorize | undefined;
  options: RtmpOptions;
  stats: RtmpStats;
}

/**
 * The NetConnection / NetStream command layer of one RTMP connection: connect, createStream,
 * publish, play and the rest, and routing of media messages to the publisher. Protocol
 * control (chunk size, acks, pings) is the connection's business, not this one's.
 */
export class RtmpSession {
  private app: string | undefined;
  private appQuery = new URLSearchParams();
  private nextStreamId = 1;
  private readonly created = new Set<number>();
  private readonly publishers = new Map<number, RtmpPublisher>();
  private readonly players = new Map<number, { sub: RtmpSubscriber; stream: Stream }>();

  constructor(
    private readonly host: SessionHost,
    private readonly ctx: SessionContext,
  ) {}

  /** A decoded AMF0 command: [name, transactionId, commandObject, ...args]. */
  command(values: unknown[], msg: RtmpMessage): void {
    const [name, tx, , ...args] = values;
    const txId = typeof tx === 'number' ? tx : 0;
    if (typeof name !== 'string') return this.host.fail('bad command', 'command name is not a string');
    if (name === 'connect') return this.connect(txId, values[2]);
    if (this.app === undefined) return this.host.fail('bad command', `${name} before connect`);
    switch (name) {
      case 'createStream':
        return this.createStream(txId);
      case 'releaseStream':
      case '_checkbw':
        return this.reply('_result', txId, null, undefined);
      case 'getStreamLength':
        return this.reply('_result', txId, null, 0);
      case 'FCPublish':
        return this.send(0, 'onFCPublish', 0, null, status('status', 'NetStream.Publish.Start', String(args[0] ?? '')));
      case 'FCUnpublish': {
        const key = typeof args[0] === 'string' ? splitName(args[0]).name : '';
        for (const [id, p] of this.publishers) if (p.stream.key === key) this.closeStream(id, 'FCUnpublish');
        return this.send(0, 'onFCUnpublish', 0, null, status('status', 'NetStream.Unpublish.Success', key));
      }
      case 'publish':
        return this.publish(msg.streamId, args[0]);
      case 'play':
        return this.play(msg.streamId, args[0]);
      case 'deleteStream':
        if (typeof args[0] === 'number') this.closeStream(args[0], 'deleteStream');
        return;
      case 'closeStream':
        return this.closeStream(msg.streamId, 'closeStream');
      default:
        this.host.log.debug({ conn: this.host.id, command: name }, 'rtmp: command ignored');
    }
  }

  /** Audio, video, data and aggregate messages on a message stream. */
  media(msg: RtmpMessage): void {
    const pub = this.publishers.get(msg.streamId);
    if (!pub) {
      // Players send nothing but commands; a stray data message on a play stream is harmless.
      if (msg.type === MessageType.DataAmf0 || msg.type === MessageType.DataAmf3) return;
      return this.host.dropped('media without publish', `type ${msg.type} on stream ${msg.streamId}`);
    }
    const why = pub.handle(msg.type, msg.payload, msg.timestamp);
    if (why) this.host.dropped(why, `type ${msg.type} at ${msg.timestamp} ms on ${pub.stream.path}`);
  }

  /** Detaches every publisher and player (the connection is going away). Idempotent. */
  dispose(reason: string): void {
    for (const id of [...this.publishers.keys(), ...this.players.keys()]) this.closeStream(id, reason);
  }

  private connect(tx: number, cmdObj: unknown): void {
    if (this.app !== undefined) return this.host.fail('bad command', 'connect twice');
    const obj = (typeof cmdObj === 'object' && cmdObj !== null ? cmdObj : {}) as Record<string, unknown>;
    const { name, query } = appName(typeof obj['app'] === 'string' ? obj['app'] : '');
    if (!isValidName(name)) {
      this.reply('_error', tx, null, status('error', 'NetConnection.Connect.Rejected', `bad app name ${JSON.stringify(name)}`));
      return this.host.end(`bad app name ${JSON.stringify(name)}`);
    }
    this.app = name;
    this.appQuery = query;
    const o = this.ctx.options;
    this.control(MessageType.WindowAckSize, windowAckSizeBody(o.windowAckSize));
    this.control(MessageType.SetPeerBandwidth, setPeerBandwidthBody(o.windowAckSize, 2));
    this.control(MessageType.SetChunkSize, setChunkSizeBody(o.outChunkSize));
    this.host.setOutChunkSize(o.outChunkSize);
    const encoding = typeof obj['objectEncoding'] === 'number' ? obj['objectEncoding'] : 0;
    this.reply('_result', tx, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 }, status('status', 'NetConnection.Connect.Success', 'Connection succeeded.', { objectEncoding: encoding }));
    this.host.log.debug({ conn: this.host.id, app: name }, 'rtmp: connected');
  }

  private createStream(tx: number): void {
    if (this.created.size >= this.ctx.options.maxStreamsPerConnection) {
      this.reply('_error', tx, null, status('error', 'NetConnection.Call.Failed', 'too many streams'));
      return;
    }
    const id = this.nextStreamId++;
    this.created.add(id);
    this.reply('_result', tx, null, id);
  }

  private target(action: 'publish' | 'play', streamId: number, rawName: unknown): { key: string } | undefined {
    const code = action === 'publish' ? 'NetStream.Publish' : 'NetStream.Play';
    if (!this.created.has(streamId)) {
      this.host.fail('bad command', `${action} on stream ${streamId} that was never created`);
      return undefined;
    }
    const { name: key, query } = splitName(typeof rawName === 'string' ? rawName : '');
    const refuse = (codeSuffix: string, why: string): undefined => {
      if (action === 'publish') this.ctx.stats.publishesRefused++;
      else this.ctx.stats.playsRefused++;
      this.onStatus(streamId, 'error', `${code}.${codeSuffix}`, why);
      this.host.log.info({ conn: this.host.id, remote: this.host.remote, app: this.app, key, action, why }, `rtmp: ${action} refused`);
      this.host.end(`${action} refused: ${why}`);
      return undefined;
    };
    if (!isValidName(key)) return refuse(action === 'publish' ? 'BadName' : 'StreamNotFound', `bad stream name ${JSON.stringify(key)}`);
    if (this.publishers.has(streamId) || this.players.has(streamId)) return refuse('Failed', `stream ${streamId} already in use`);
    const why = this.ctx.authorize?.(action, this.app!, key, mergeQueries(this.appQuery, query), this.host.remote);
    if (why !== undefined) return refuse('Unauthorized', why);
    if (this.ctx.options.authRequired[action]) this.host.authenticated();
    return { key };
  }

  private publish(streamId: number, rawName: unknown): void {
    const t = this.target('publish', streamId, rawName);
    if (!t) return;
    const app = this.ctx.registry.app(this.app!);
    const stream = app.stream(t.key);
    const pub = new RtmpPublisher(`${this.host.id}/${streamId}`, this.host.remote, stream, (reason) => this.host.end(reason));
    let role;
    try {
      // A second publisher of a live key stands by when the app allows a backup (apps.NAME.backup).
      role = stream.publish(pub, { standby: true });
    } catch (err) {
      if (!(err instanceof PublishRefusedError)) throw err;
      this.ctx.stats.publishesRefused++;
      this.onStatus(streamId, 'error', 'NetStream.Publish.BadName', err.message);
      this.host.log.info({ conn: this.host.id, remote: this.host.remote, stream: stream.path }, `rtmp: publish refused: ${err.message}`);
      this.host.end(`publish refused: ${err.message}`);
      return;
    }
    this.publishers.set(streamId, pub);
    this.ctx.stats.publishes++;
    this.control(MessageType.UserControl, userControlBody(UserControlEvent.StreamBegin, streamId));
    this.onStatus(streamId, 'status', 'NetStream.Publish.Start', `${stream.path} is now published.`);
    this.host.log.info({ conn: this.host.id, remote: this.host.remote, stream: stream.path, role }, 'rtmp: publish');
  }

  private play(streamId: number, rawName: unknown): void {
    const t = this.target('play', streamId, rawName);
    if (!t) return;
    const stream = this.ctx.registry.app(this.app!).stream(t.key);
    const host = this.host;
    const sub = new RtmpSubscriber(`${host.id}/${streamId}`, host.remote, this.ctx.options.viewerLimits, streamId, {
      send: (m, body, head) => host.send(m, body, head),
      pending: () => host.pending(),
      // Ends the connection only when the Stream cut the viewer; closeStream removes it first.
      end: (reason) => {
        if (this.players.has(streamId)) host.end(reason);
      },
    });
    this.players.set(streamId, { sub, stream });
    this.ctx.stats.plays++;
    this.control(MessageType.UserControl, userControlBody(UserControlEvent.StreamBegin, streamId));
    this.onStatus(streamId, 'status', 'NetStream.Play.Reset', `Playing and resetting ${stream.path}.`);
    this.onStatus(streamId, 'status', 'NetStream.Play.Start', `Started playing ${stream.path}.`);
    this.host.send({ csid: Csid.Data, type: MessageType.DataAmf0, streamId, timestamp: 0 }, encodeAmf0('|RtmpSampleAccess', true, true));
    this.host.log.info({ conn: host.id, remote: host.remote, stream: stream.path, live: stream.isLive }, 'rtmp: play');
    // Not live yet: the player waits and gets the configs when a publisher starts.
    stream.subscribe(sub);
  }

  private closeStream(streamId: number, reason: string): void {
    const pub = this.publishers.get(streamId);
    if (pub) {
      this.publishers.delete(streamId);
      pub.stream.unpublish(pub);
      this.ctx.registry.apps.get(pub.stream.app)?.release(pub.stream);
      this.host.log.info({ conn: this.host.id, stream: pub.stream.path, reason }, 'rtmp: unpublish');
    }
    const play = this.players.get(streamId);
    if (play) {
      this.players.delete(streamId);
      play.stream.unsubscribe(play.sub);
      play.sub.close(reason);
      this.ctx.registry.apps.get(play.stream.app)?.release(play.stream);
    }
  }

  private control(type: number, body: Uint8Array): void {
    this.host.send({ csid: Csid.Control, type, streamId: 0, timestamp: 0 }, body);
  }

  private reply(name: '_result' | '_error', tx: number, ...args: unknown[]): void {
    this.host.send({ csid: Csid.Command, type: MessageType.CommandAmf0, streamId: 0, timestamp: 0 }, commandBody(name, tx, ...args));
  }

  private send(streamId: number, name: string, tx: number, ...args: unknown[]): void {
    this.host.send({ csid: Csid.Command, type: MessageType.CommandAmf0, streamId, timestamp: 0 }, commandBody(name, tx, ...args));
  }

  private onStatus(streamId: number, level: 'status' | 'error', code: string, description: string): void {
    this.host.send({ csid: Csid.Data, type: MessageType.CommandAmf0, streamId, timestamp: 0 }, commandBody('onStatus', 0, null, status(level, code, description)));
  }
}

