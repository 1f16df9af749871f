/**
 * The application's handle on one session, on either side. It wraps a core `Session` and the
 * driver that moves its datagrams; every call kicks the driver so queued data leaves at once.
 * Events come out as EventEmitter events and, for messages, as an async iterator.
 *
 * Time: `deadlineMs` in sendFrame is relative (ms from now); `send` takes the core's MessageMeta
 * whose `deadline` is absolute on `session.now()`'s clock.
 */
import { EnhancedEmitter } from '../util/EnhancedEmitter.js';
import type { MessageMeta, Session, SessionStats, StreamClass, StreamOptions } from '../transport/api.js';

export interface ReceivedMessage {
  streamId: number;
  /** The sender's message id on the stream (deadline streams: gaps are messages it gave up). */
  messageId: number;
  data: Uint8Array;
  meta: MessageMeta;
}

export type TransportSessionEvents = {
  connected: [];
  'stream-opened': [streamId: number, options: StreamOptions];
  message: [msg: ReceivedMessage];
  'message-dropped': [streamId: number, reason: 'deadline' | 'queue'];
  /** A video stream lost a reference frame: an encoder that can make a keyframe now should. */
  'keyframe-wanted': [streamId: number];
  'path-up': [path: string];
  'path-down': [path: string];
  closed: [reason: string, byPeer: boolean];
};

export interface FrameToSend {
  kind: StreamClass;
  data: Uint8Array;
  /** Lower is more urgent; default control 0, audio 1, video 2. Used when the stream is opened. */
  priority?: number;
  /** Relative deadline in ms (audio/video); default 1000. */
  deadlineMs?: number;
  keyframe?: boolean;
  reference?: boolean;
  timestamp?: number;
}

const DEFAULT_PRIORITY: Record<StreamClass, number> = { control: 0, audio: 1, video: 2 };
/** Messages held for an async iterator that nobody reads: beyond this the oldest go. */
const MAX_ITER_BACKLOG = 4096;

export class TransportSession extends EnhancedEmitter<TransportSessionEvents> {
  private readonly kindStreams = new Map<StreamClass, number>();
  private readonly iterators = new Set<{ queue: ReceivedMessage[]; wake: (() => void) | undefined }>();
  private closedFlag = false;
  private connectedFlag = false;

  constructor(readonly core: Session, private readonly kick: () => void, readonly now: () => number, private readonly onClosed: () => void) {
    super();
  }

  get id(): bigint {
    return this.core.id;
  }
  get isConnected(): boolean {
    return this.connectedFlag && !this.closedFlag;
  }
  get isClosed(): boolean {
    return this.closedFlag;
  }

  openStream(options: StreamOptions): number {
    const id = this.core.openStream(this.now(), options);
    this.kick();
    return id;
  }

  send(streamId: number, data: Uint8Array, meta?: MessageMeta): boolean {
    const ok = this.core.send(this.now(), streamId, data, meta);
    this.kick();
    return ok;
  }

  /** Sends on the stream of this kind, opening it on first use (control is reliable, media by deadline). */
  sendFrame(f: FrameToSend): boolean {
    let id = this.kindStreams.get(f.kind);
    if (id === undefined) {
      id = this.core.openStream(this.now(), {
        class: f.kind,
        reliability: f.kind === 'control' ? 'reliable' : 'deadline',
        priority: f.priority ?? DEFAULT_PRIORITY[f.kind],
      });
      this.kindStreams.set(f.kind, id);
    }
    const now = this.now();
    const meta: MessageMeta = { keyframe: f.keyframe, reference: f.reference, timestamp: f.timestamp };
    if (f.kind !== 'control') meta.deadline = now + (f.deadlineMs ?? 1000);
    const ok = this.core.send(now, id, f.data, meta);
    this.kick();
    return ok;
  }

  stats(): SessionStats {
    return this.core.stats();
  }

  /** Messages as an async iterator; it ends when the session closes. */
  messages(): AsyncIterableIterator<ReceivedMessage> {
    const it = { queue: [] as ReceivedMessage[], wake: undefined as (() => void) | undefined };
    this.iterators.add(it);
    const self = this;
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next(): Promise<IteratorResult<ReceivedMessage>> {
        for (;;) {
          const m = it.queue.shift();
          if (m) return { value: m, done: false };
          if (self.closedFlag) return { value: undefined, done: true };
          await new Promise<void>((r) => (it.wake = r));
          it.wake = undefined;
        }
      },
      async return(): Promise<IteratorResult<ReceivedMessage>> {
        self.iterators.delete(it);
        return { value: undefined, done: true };
      },
    };
  }

  /** Starts a clean close (the peer is told); 'closed' follows. Idempotent. */
  close(reason = 'closed by application'): void {
    if (this.closedFlag) return;
    this.core.close(this.now(), reason);
    this.kick();
  }

  /** Called by the shell after each driver step: turns core events into emitter events. */
  drain(): void {
    for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) {
      switch (e.type) {
        case 'connected':
          this.connectedFlag = true;
          this.safeEmit('connected');
          break;
        case 'stream-opened':
          this.safeEmit('stream-opened', e.streamId, e.options);
          break;
        case 'message': {
          const m = { streamId: e.streamId, messageId: e.messageId, data: e.data, meta: e.meta };
          for (const it of this.iterators) {
            if (it.queue.length >= MAX_ITER_BACKLOG) it.queue.shift();
            it.queue.push(m);
            it.wake?.();
          }
          this.safeEmit('message', m);
          break;
        }
        case 'message-dropped':
          this.safeEmit('message-dropped', e.streamId, e.reason);
          break;
        case 'keyframe-wanted':
          this.safeEmit('keyframe-wanted', e.streamId);
          break;
        case 'path-up':
          this.safeEmit('path-up', e.path);
          break;
        case 'path-down':
          this.safeEmit('path-down', e.path);
          break;
        case 'closed':
          this.markClosed(e.reason, e.byPeer);
          break;
      }
    }
  }

  /** Marks the session closed without the core's say (the shell is going away). */
  markClosed(reason: string, byPeer: boolean): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const it of this.iterators) it.wake?.();
    this.onClosed();
    this.safeEmit('closed', reason, byPeer);
  }
}
