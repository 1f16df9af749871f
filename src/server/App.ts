import { Stream } from './Stream.js';

export interface AppOptions {
  /**
   * How long a stream whose publisher left keeps its viewers, waiting for a publisher to come
   * back (an encoder restarting, a mobile sender reconnecting), ms. 0 closes it at once.
   * Default 10000.
   */
  publisherGraceMs: number;
  /**
   * Main/backup publishing: a second publisher of a live key stands by and takes over when the
   * first stops or is silent for `silenceMs` (Stream.checkSilence). Default false: refused.
   */
  backup?: boolean;
  /** Default 300. */
  silenceMs?: number;
}

export const DEFAULT_APP_OPTIONS: AppOptions = { publisherGraceMs: 10_000 };

/** How often a stream with a standby is checked for a silent main, ms. */
const SILENCE_CHECK_MS = 25;

/** A namespace of streams ("live" in rtmp://host/live/key). Streams are made on first use. */
export class App {
  readonly streams = new Map<string, Stream>();
  /** Streams whose publisher left, each with the timer that ends its grace. */
  private readonly graces = new Map<Stream, NodeJS.Timeout>();
  /** Streams with a standby publisher, each with the timer that checks its main for silence. */
  private readonly watches = new Map<Stream, NodeJS.Timeout>();

  constructor(
    readonly name: string,
    private readonly options: AppOptions = DEFAULT_APP_OPTIONS,
    /** Told of every stream this app makes (the Registry's 'stream' event). */
    private readonly onStream?: (stream: Stream) => void,
  ) {}

  /** The stream with this key, created when missing. */
  stream(key: string): Stream {
    let s = this.streams.get(key);
    if (!s) {
      const stream = new Stream(this.name, key, { backup: this.options.backup ?? false, silenceMs: this.options.silenceMs });
      this.streams.set(key, stream);
      stream.on('unpublish', () => this.startGrace(stream));
      stream.on('publish', () => this.endGrace(stream));
      stream.on('standby', () => this.watchSilence(stream));
      stream.once('close', () => {
        this.endGrace(stream);
        clearInterval(this.watches.get(stream));
        this.watches.delete(stream);
        this.streams.delete(key);
      });
      s = stream;
      this.onStream?.(stream);
    }
    return s;
  }

  /** Whether the stream's publisher left and the grace for another one has not run out. */
  inGrace(stream: Stream): boolean {
    return this.graces.has(stream);
  }

  /**
   * Drops a stream nobody uses any more (no publisher, no viewers, no grace running). Protocol
   * handlers call it when their publisher or viewer leaves, so idle keys don't pile up. A
   * stream in its grace stays even with no viewer: LL-HLS players are not subscribers (they
   * poll), and its packager should carry on when the publisher returns.
   */
  release(stream: Stream): void {
    if (!stream.isLive && stream.subscribers.size === 0 && !this.graces.has(stream)) stream.close('idle');
  }

  close(): void {
    for (const s of [...this.streams.values()]) s.close('server shutting down');
  }

  private watchSilence(stream: Stream): void {
    if (this.watches.has(stream)) return;
    const timer = setInterval(() => {
      if (!stream.standby) {
        clearInterval(timer);
        this.watches.delete(stream);
        return;
      }
      stream.checkSilence(Date.now());
    }, SILENCE_CHECK_MS);
    timer.unref();
    this.watches.set(stream, timer);
  }

  private startGrace(stream: Stream): void {
    this.endGrace(stream);
    const ms = this.options.publisherGraceMs;
    if (ms <= 0) return void stream.close('publisher left');
    const timer = setTimeout(() => {
      this.graces.delete(stream);
      if (!stream.isLive) stream.close(`publisher did not return within ${ms} ms`);
    }, ms);
    timer.unref();
    this.graces.set(stream, timer);
  }

  private endGrace(stream: Stream): void {
    const t = this.graces.get(stream);
    if (t === undefined) return;
    clearTimeout(t);
    this.graces.delete(stream);
  }
}
