import type { Socket } from 'node:net';
import { TurnBudget } from '../../net/TurnBudget.js';
import { decodeAmf0 } from '../../media/amf0.js';
import { MediaParseError } from '../../media/frame.js';
import { ChunkReader, RtmpProtocolError, type MemoryAccount } from './ChunkReader.js';
import { ChunkWriter } from './ChunkWriter.js';
import { ServerHandshake } from './handshake.js';
import { Csid, MessageType, UserControlEvent, ackBody, userControlBody, type RtmpMessage } from './messages.js';
import { RtmpSession, type SessionContext, type SessionHost } from './RtmpSession.js';
import type { RtmpLogger } from './types.js';

/** Socket bytes queued above this (beyond the viewer policy's cut) mean a client that never reads. */
const OUTPUT_SLACK = 1 << 20;

/**
 * One TCP connection: handshake, chunk stream in and out, protocol control messages (chunk
 * size, acknowledgements, pings), timeouts; commands and media go to its RtmpSession.
 * Nothing thrown while handling received bytes escapes: a violation closes this connection.
 */
export class RtmpConnection implements SessionHost {
  private readonly handshake = new ServerHandshake();
  private readonly reader: ChunkReader;
  private readonly writer = new ChunkWriter();
  private readonly session: RtmpSession;
  private closed = false;
  private received = 0;
  private ackedAt = 0;
  /** The peer's window: acknowledge every this many bytes (0: the peer asked for none). */
  private peerWindow = 0;
  private readonly dropsLogged = new Set<string>();
  private handshakeTimer: NodeJS.Timeout | undefined;
  private destroyTimer: NodeJS.Timeout | undefined;
  onClose: (() => void) | undefined;
  /** Called once a required token check passed (see RtmpOptions.authRequired). */
  onAuthenticated: (() => void) | undefined;
  /** "ip:port" of the peer. */
  readonly remote: string;

  constructor(
    readonly id: string,
    private readonly socket: Socket,
    readonly log: RtmpLogger,
    private readonly ctx: SessionContext,
    /** Where unfinished messages are charged (the server's MemoryBudget); none: only the per-connection limit. */
    account?: MemoryAccount,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.reader = new ChunkReader((m) => this.onMessage(m), ctx.options, account);
    this.session = new RtmpSession(this, ctx);
    socket.setNoDelay(true);
    socket.setTimeout(ctx.options.idleTimeoutMs, () => this.fail('idle timeout', `no traffic for ${ctx.options.idleTimeoutMs} ms`));
    this.handshakeTimer = setTimeout(() => this.fail('handshake timeout', `no handshake in ${ctx.options.handshakeTimeoutMs} ms`), ctx.options.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    // At most TURN_BUDGET_BYTES parsed a turn: chunk size 1 makes bytes dear (see TurnBudget).
    const budget = new TurnBudget(socket);
    socket.on('data', (b: Buffer) => {
      this.onData(b);
      budget.spend(b.length);
    });
    socket.on('error', (err) => this.log.debug({ conn: id, err: err.message }, 'rtmp: socket error'));
    socket.on('close', () => this.close('socket closed'));
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    this.ctx.stats.bytesIn += data.length;
    try {
      if (!this.handshake.isDone) {
        for (const r of this.handshake.push(data)) {
          if (r.kind === 'error') return this.fail('bad handshake', r.reason);
          if (r.kind === 'reply') this.write(r.data);
          if (r.kind === 'done') {
            clearTimeout(this.handshakeTimer);
            if (this.handshake.complex === 'simple') this.ctx.stats.handshakesSimple++;
            else this.ctx.stats.handshakesComplex++;
            if (r.rest.length > 0) this.receive(r.rest);
          }
        }
        return;
      }
      this.receive(data);
    } catch (err) {
      if (err instanceof RtmpProtocolError) return this.fail(err.reason, err.message);
      if (err instanceof MediaParseError) return this.fail('bad amf', err.message);
      this.log.error({ conn: this.id, err: err instanceof Error ? err.stack : String(err) }, 'rtmp: internal error');
      this.fail('internal error', String(err));
    }
  }

  private receive(data: Uint8Array): void {
    this.reader.push(data);
    this.received += data.length;
    if (this.peerWindow > 0 && this.received - this.ackedAt >= this.peerWindow) {
      this.ackedAt = this.received;
      this.send({ csid: Csid.Control, type: MessageType.Acknowledgement, streamId: 0, timestamp: 0 }, ackBody(this.received));
    }
  }

  private onMessage(msg: RtmpMessage): void {
    if (this.closed) return;
    this.ctx.stats.messagesIn++;
    const p = msg.payload;
    switch (msg.type) {
      case MessageType.SetChunkSize:
      case MessageType.Abort:
      case MessageType.Acknowledgement:
      case MessageType.SetPeerBandwidth:
        return;
      case MessageType.WindowAckSize:
        if (p.length >= 4) this.peerWindow = new DataView(p.buffer, p.byteOffset).getUint32(0);
        return;
      case MessageType.UserControl:
        if (p.length >= 6 && ((p[0]! << 8) | p[1]!) === UserControlEvent.PingRequest) {
          const ts = new DataView(p.buffer, p.byteOffset).getUint32(2);
          this.send({ csid: Csid.Control, type: MessageType.UserControl, streamId: 0, timestamp: 0 }, userControlBody(UserControlEvent.PingResponse, ts));
        }
        return;
      case MessageType.CommandAmf0:
        return this.session.command(decodeAmf0(p), msg);
      case MessageType.CommandAmf3:
        // AMF3 commands are AMF0 after a format byte (0) in practice.
        return this.session.command(decodeAmf0(p.subarray(1)), msg);
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.DataAmf3:
      case MessageType.Aggregate:
        return this.session.media(msg);
      default:
        this.dropped('unknown message type', `type ${msg.type}`);
    }
  }

  send(msg: Omit<RtmpMessage, 'payload'>, body: Uint8Array, head?: Uint8Array): void {
    if (this.closed) return;
    this.write(this.writer.encode(msg, body, head));
  }

  private write(bytes: Uint8Array): void {
    this.ctx.stats.bytesOut += bytes.length;
    // What one turn writes (a frame's audio and video, a GOP on join, a command's replies)
    // leaves in one writev at its end, not a syscall a message.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      queueMicrotask(this.uncork);
    }
    this.socket.write(bytes);
    if (this.socket.writableLength > this.ctx.options.viewerLimits.cutBytes + OUTPUT_SLACK) {
      this.fail('output overflow', `${this.socket.writableLength} bytes queued`);
    }
  }

  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    if (!this.socket.destroyed) this.socket.uncork();
  };

  pending(): number {
    return this.socket.writableLength;
  }

  authenticated(): void {
    if (this.closed) return;
    // The reader stops charging the budget: the server gives back what it had charged.
    this.reader.detachAccount();
    this.onAuthenticated?.();
  }

  setOutChunkSize(size: number): void {
    this.writer.chunkSize = size;
  }

  dropped(reason: string, detail: string): void {
    this.ctx.stats.messagesDropped++;
    // One line per reason per connection: a broken encoder would otherwise flood the log.
    if (this.dropsLogged.has(reason)) return;
    this.dropsLogged.add(reason);
    this.log.warn({ conn: this.id, remote: this.remote, reason, detail }, `rtmp: message dropped (${reason}); further drops of this kind are counted only`);
  }

  fail(reason: string, detail: string): void {
    if (this.closed) return;
    this.ctx.stats.errors[reason] = (this.ctx.stats.errors[reason] ?? 0) + 1;
    this.log.warn({ conn: this.id, remote: this.remote, reason, detail }, `rtmp: closing connection: ${reason}`);
    this.close(reason);
    this.socket.destroy();
  }

  /** Flushes what was sent, then closes; the socket is destroyed if the peer doesn't read it. */
  end(reason: string): void {
    if (this.closed) return;
    this.close(reason);
    this.socket.end();
    this.destroyTimer = setTimeout(() => this.socket.destroy(), 2000);
    this.destroyTimer.unref();
  }

  /** Idempotent: detaches the session's publishers and players. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    this.reader.dispose();
    this.session.dispose(reason);
    this.log.debug({ conn: this.id, reason }, 'rtmp: connection closed');
    if (this.socket.destroyed) clearTimeout(this.destroyTimer);
    this.onClose?.();
  }

  /** Destroys the socket at once (server shutdown). */
  destroy(reason: string): void {
    this.close(reason);
    clearTimeout(this.destroyTimer);
    this.socket.destroy();
  }
}
