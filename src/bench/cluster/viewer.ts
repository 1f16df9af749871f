/**
 * An HTTP-FLV viewer of the cluster bench: records when each frame (by the id the publisher wrote
 * into it) arrived, and whether its connection ended (a viewer that would have had to reconnect).
 */
import { request, type ClientRequest } from 'node:http';
import { FlvDemuxer } from '../../media/flv/FlvDemuxer.js';
import { frameId } from '../fanout/stream.js';

export class BenchViewer {
  /** performance.now() of each frame id's arrival. */
  readonly arrivals = new Map<number, number>();
  /** Arrival times of video frames, in order. */
  readonly videoTimes: number[] = [];
  ended: string | undefined;
  status: number | undefined;
  private readonly req: ClientRequest;
  private readonly demuxer = new FlvDemuxer();

  constructor(readonly url: string, readonly node: string) {
    this.req = request(url, { agent: false }, (res) => {
      this.status = res.statusCode;
      if (res.statusCode !== 200) {
        this.ended = `HTTP ${res.statusCode}`;
        return void res.resume();
      }
      res.on('data', (chunk: Buffer) => this.onData(chunk));
      res.on('end', () => (this.ended ??= 'response ended'));
      res.on('error', (e) => (this.ended ??= e.message));
    });
    this.req.on('error', (e) => (this.ended ??= e.message));
    this.req.end();
  }

  private onData(chunk: Buffer): void {
    const now = performance.now();
    let out;
    try {
      out = this.demuxer.push(chunk);
    } catch (e) {
      this.ended ??= `bad FLV: ${(e as Error).message}`;
      return void this.req.destroy();
    }
    for (const o of out) {
      if (o.type !== 'frame' || o.frame.kind === 'data') continue;
      // Every video frame counts for gaps, an encoder's (no id) as well as the bench's own.
      if (o.frame.kind === 'video') this.videoTimes.push(now);
      const id = frameId(o.frame);
      if (id !== undefined && !this.arrivals.has(id)) this.arrivals.set(id, now);
    }
  }

  /** Longest time without a new video frame within [from, until], ms. */
  longestGap(from: number, until: number): number {
    let last = from;
    let gap = 0;
    for (const t of this.videoTimes) {
      if (t < from) continue;
      if (t > until) break;
      gap = Math.max(gap, t - last);
      last = t;
    }
    return Math.max(gap, until - last);
  }

  close(): void {
    this.req.destroy();
  }
}
