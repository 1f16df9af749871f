/**
 * HTTP-FLV viewers for the fanout bench: each reads the stream through the project's FLV demuxer
 * and records, for every frame it gets, how long after its send time it arrived.
 */
import { request, type ClientRequest } from 'node:http';
import { FlvDemuxer } from '../../media/flv/FlvDemuxer.js';
import { frameId } from './stream.js';

export interface ViewerStats {
  /** ms from the request to the first video frame (a keyframe from the GOP cache or live). */
  joinMs: number | undefined;
  /** Delays of the frames sent inside the window, ms. */
  delays: number[];
  /** Frames sent inside the window that this viewer got. */
  received: number;
  bytes: number;
  error: string | undefined;
}

export class FlvViewer {
  readonly stats: ViewerStats = { joinMs: undefined, delays: [], received: 0, bytes: 0, error: undefined };
  private readonly req: ClientRequest;
  private readonly demuxer = new FlvDemuxer();

  /**
   * `sentAt(id)` gives the time a frame id was handed to the publisher (performance.now());
   * only frames sent within `window` (after warm-up, before shutdown) count.
   */
  constructor(
    url: string,
    private readonly sentAt: (id: number) => number | undefined,
    private readonly window: { from: number; until: number },
    /** Every frame with an id, as it arrives (performance.now()): for benches that judge more than delay. */
    private readonly onFrame?: (id: number, kind: 'video' | 'audio', at: number) => void,
  ) {
    const started = performance.now();
    this.req = request(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) {
        this.stats.error = `HTTP ${res.statusCode}`;
        res.resume();
        return;
      }
      res.on('data', (chunk: Buffer) => this.onData(chunk, started));
      res.on('error', (e) => (this.stats.error ??= e.message));
    });
    this.req.on('error', (e) => (this.stats.error ??= e.message));
    this.req.end();
  }

  close(): void {
    this.req.destroy();
  }

  private onData(chunk: Buffer, started: number): void {
    const now = performance.now();
    this.stats.bytes += chunk.length;
    let out;
    try {
      out = this.demuxer.push(chunk);
    } catch (e) {
      this.stats.error ??= (e as Error).message;
      this.req.destroy();
      return;
    }
    for (const o of out) {
      if (o.type !== 'frame') continue;
      if (o.frame.kind === 'video' && this.stats.joinMs === undefined) this.stats.joinMs = now - started;
      const id = frameId(o.frame);
      if (id !== undefined && o.frame.kind !== 'data') this.onFrame?.(id, o.frame.kind, now);
      const sent = id === undefined ? undefined : this.sentAt(id);
      if (sent === undefined || sent < this.window.from || sent > this.window.until) continue;
      this.stats.delays.push(now - sent);
      this.stats.received++;
    }
  }
}
