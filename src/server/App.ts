import { Stream } from './Stream.js';

/** A namespace of streams ("live" in rtmp://host/live/key). Streams are made on first use. */
export class App {
  readonly streams = new Map<string, Stream>();

  constructor(readonly name: string) {}

  /** The stream with this key, created when missing. */
  stream(key: string): Stream {
    let s = this.streams.get(key);
    if (!s) {
      s = new Stream(this.name, key);
      this.streams.set(key, s);
      s.once('close', () => this.streams.delete(key));
    }
    return s;
  }

  /**
   * Drops a stream nobody uses any more (no publisher, no viewers). Protocol handlers call it
   * when their publisher or viewer leaves, so idle keys don't pile up.
   */
  release(stream: Stream): void {
    if (!stream.isLive && stream.subscribers.size === 0) stream.close('idle');
  }

  close(): void {
    for (const s of [...this.streams.values()]) s.close('server shutting down');
  }
}
