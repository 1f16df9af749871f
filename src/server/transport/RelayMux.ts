/**
 * The owner's side of a relay session that carries many streams (identity `relay-mux NODE`, the
 * cluster secret's key): one session per pair of nodes, each relayed stream a channel of it
 * (media/tributary/channel.ts). The edge opens a channel with a hello naming the stream and
 * ends it with an end; this node answers each hello with a welcome carrying its fencing token,
 * or a refusal (not the owner, a bad name, too many channels) that leaves the session and its
 * other channels running. Each channel's viewer is an ordinary TransportSubscriber whose sink is
 * the channel, so the backpressure limits of a player apply per relayed stream.
 */
import { MediaParseError } from '../../media/frame.js';
import { decodeChannel, decodeMessage, encodeOnChannel, encodeText, CHANNEL_FLAG_BACKUP, type TributaryMessage } from '../../media/tributary/index.js';
import type { TransportSession } from '../../net/index.js';
import type { StreamClass } from '../../transport/api.js';
import type { Logger } from '../log.js';
import type { Registry } from '../Registry.js';
import type { Stream } from '../Stream.js';
import type { BackpressureLimits } from '../Subscriber.js';
import { TransportSubscriber, type TransportSink } from './TransportSubscriber.js';

/** Channels one session may hold at once: each takes two of the peer's 1024 inbound transport streams. */
export const MAX_CHANNELS = 256;
const NAME = /^[A-Za-z0-9_.\-~]{1,128}$/;

export interface RelayMuxDeps {
  registry: Registry;
  logger: Logger;
  viewerLimits: BackpressureLimits;
  playLatencyMs: number;
  /** The fencing token of app/key when this node owns it (or, `backup`, serves its backup publisher); undefined: refuse. */
  token(app: string, key: string, backup: boolean): number | undefined;
  /** Counters shared with the transport listener. */
  stats: { plays: number; refused: number; messagesDropped: number; relayRefused: number };
}

export class RelayMux {
  private readonly channels = new Map<number, Channel>();
  /** Media streams of channels that ended, reused by the next ones (the transport has no stream close). */
  private readonly free: Record<'audio' | 'video', number[]> = { audio: [], video: [] };
  /** Channels opened over the session's life (0 at its close: a relay that never got served). */
  served = 0;

  constructor(
    readonly session: TransportSession,
    readonly name: string,
    private readonly remote: string,
    private readonly d: RelayMuxDeps,
  ) {
    session.on('message', (m) => this.onMessage(m.data));
    session.on('closed', (reason) => {
      for (const c of [...this.channels.values()]) c.close(`session closed: ${reason}`);
    });
  }

  get open(): number {
    return this.channels.size;
  }

  private onMessage(data: Uint8Array): void {
    let ch: ReturnType<typeof decodeChannel>;
    let msg: TributaryMessage;
    try {
      ch = decodeChannel(data);
      msg = decodeMessage(ch.message);
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      return void this.d.stats.messagesDropped++;
    }
    if (msg.type === 'hello') return this.hello(ch.channel, (ch.flags & CHANNEL_FLAG_BACKUP) !== 0, msg);
    const c = this.channels.get(ch.channel);
    if (msg.type === 'end' && c) return c.close(`edge ended: ${msg.reason}`);
    this.d.stats.messagesDropped++; // an edge has nothing else to say on a channel
  }

  private hello(channel: number, backup: boolean, h: Extract<TributaryMessage, { type: 'hello' }>): void {
    if (this.channels.has(channel)) return void this.d.stats.messagesDropped++;
    if (h.role !== 'play') return this.refuse(channel, 'a relay channel only plays');
    if (this.channels.size >= MAX_CHANNELS) return this.refuse(channel, `more than ${MAX_CHANNELS} channels on one session`);
    if (![h.app, h.key].every((n) => NAME.test(n) && n !== '.' && n !== '..')) return this.refuse(channel, 'bad stream name');
    const token = this.d.token(h.app, h.key, backup);
    if (token === undefined) {
      this.d.stats.relayRefused++;
      return this.refuse(channel, `not the owner of ${h.app}/${h.key}`);
    }
    const app = this.d.registry.app(h.app);
    const stream = app.stream(h.key);
    const c = new Channel(this, channel, stream);
    const sub = new TransportSubscriber(`${this.name}-${channel}`, this.remote, this.d.viewerLimits, c, h.latencyMs ?? this.d.playLatencyMs);
    c.sub = sub;
    if (backup && !stream.subscribeBackup(sub)) {
      app.release(stream);
      return this.refuse(channel, `no backup publisher of ${stream.path} here`);
    }
    this.channels.set(channel, c);
    this.served++;
    this.d.stats.plays++;
    this.session.sendFrame({ kind: 'control', data: encodeOnChannel(channel, encodeText('welcome', `relaying ${stream.path} token=${token}`)) });
    this.d.logger.info({ session: this.name, channel, stream: stream.path, live: stream.isLive, ...(backup ? { view: 'backup' } : {}) }, 'transport: relay channel');
    if (!backup) stream.subscribe(sub);
  }

  private refuse(channel: number, reason: string): void {
    this.d.stats.refused++;
    this.d.logger.info({ session: this.name, channel, reason }, 'transport: relay channel refused');
    this.session.sendFrame({ kind: 'control', data: encodeOnChannel(channel, encodeText('refuse', reason)) });
  }

  /** A media stream for a channel: one a past channel left, else a new one. */
  takeStream(kind: 'audio' | 'video'): number {
    return this.free[kind].pop() ?? this.session.openStream({ class: kind, reliability: 'deadline', priority: kind === 'audio' ? 1 : 2 });
  }

  /** Called once by a closing channel. */
  release(c: Channel, streams: Partial<Record<'audio' | 'video', number>>): void {
    if (this.channels.get(c.channel) === c) this.channels.delete(c.channel);
    for (const k of ['audio', 'video'] as const) if (streams[k] !== undefined) this.free[k].push(streams[k]!);
    this.d.registry.apps.get(c.stream.app)?.release(c.stream);
  }
}

/** One relayed stream on the session: the sink of its subscriber. close() is the one way out, idempotent. */
class Channel implements TransportSink {
  sub: TransportSubscriber | undefined;
  private closed = false;
  private readonly media: Partial<Record<'audio' | 'video', number>> = {};

  constructor(
    private readonly mux: RelayMux,
    readonly channel: number,
    readonly stream: Stream,
  ) {}

  get isClosed(): boolean {
    return this.closed || this.mux.session.isClosed;
  }

  stats(): { bytesSent: number } {
    return this.mux.session.stats();
  }

  sendFrame(f: { kind: StreamClass; data: Uint8Array; deadlineMs?: number; keyframe?: boolean; reference?: boolean; timestamp?: number }): boolean {
    if (this.isClosed) return false;
    const data = encodeOnChannel(this.channel, f.data);
    const s = this.mux.session;
    if (f.kind === 'control') return s.sendFrame({ kind: 'control', data });
    const id = (this.media[f.kind] ??= this.mux.takeStream(f.kind));
    return s.send(id, data, { deadline: s.now() + (f.deadlineMs ?? 1000), keyframe: f.keyframe, reference: f.reference, timestamp: f.timestamp });
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sub) {
      this.stream.unsubscribe(this.sub);
      this.stream.unsubscribeBackup(this.sub);
      this.sub.close(reason);
    }
    this.mux.release(this, this.media);
  }
}
