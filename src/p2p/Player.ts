/**
 * The play-out end of a peer's buffer: which slice is due, whether it came in time, how long to
 * stall for a missing one, and the capture-to-play delay. A slice is due at capture + delay;
 * present then, it plays on time; missing, the player waits up to `maxStallMs` (the delay grows
 * by the wait, never past `maxDelayMs`) and then skips it. While the buffer is full the delay
 * creeps back to the target (playing ~10% fast), so one bad moment does not cost a viewer its
 * delay for the rest of the stream.
 */
import type { P2pConfig } from './config.js';
import type { PeerStats, PlaySink } from './peer/PeerStats.js';
import type { SliceBuffer } from './SliceBuffer.js';

export class Player {
  /** Next slice to play. */
  head = 0;
  delay: number;
  started = false;
  private readonly frameMs: number;

  constructor(
    private readonly c: P2pConfig,
    private readonly buf: SliceBuffer,
    private readonly stats: PeerStats,
    private readonly sink: PlaySink | undefined,
  ) {
    this.delay = c.targetDelayMs;
    this.frameMs = 1000 / c.fps;
  }

  /** Plays what is due; returns when the next slice falls due. */
  play(now: number, joinedAt: number): number {
    if (!this.started) return this.tryStart(now, joinedAt);
    for (;;) {
      const e = this.buf.get(this.head);
      if (!e || (!e.info && !e.payload)) return this.head < this.buf.head ? now + this.frameMs : Infinity;
      const due = e.captureMs + this.delay;
      if (now < due) return due;
      const bytes = e.payload?.length ?? 0;
      if (e.payload && e.arrivedAt <= due) {
        this.stats.played++;
        this.stats.onTime++;
        this.sink?.played(this.delay, true, bytes);
        this.sink?.decode?.(this.head, e.payload);
        if (this.delay > this.c.targetDelayMs) this.delay = Math.max(this.c.targetDelayMs, this.delay - this.frameMs * 0.1);
      } else if (e.payload && e.arrivedAt <= Math.min(due + this.c.maxStallMs, e.captureMs + this.c.maxDelayMs)) {
        this.stats.played++;
        this.stats.late++;
        this.delay = Math.min(this.c.maxDelayMs, e.arrivedAt - e.captureMs);
        this.sink?.played(e.arrivedAt - e.captureMs, false, bytes);
        this.sink?.decode?.(this.head, e.payload);
      } else if (now >= due + this.c.maxStallMs || now - e.captureMs >= this.c.maxDelayMs) {
        this.stats.missed++;
        this.delay = Math.min(this.c.maxDelayMs, this.delay + this.c.maxStallMs);
        this.sink?.missed();
      } else return due + this.c.maxStallMs;
      this.head++;
    }
  }

  /**
   * The first picture: the keyframe and every slice after it up to the newest one that is
   * `delay` old must be here (the decoder runs through them); that one is shown.
   */
  private tryStart(now: number, joinedAt: number): number {
    const key = this.buf.get(this.head);
    if (!key?.payload) return now + 50;
    let last = -1;
    for (let s = this.head; s < this.buf.head; s++) {
      const e = this.buf.get(s);
      if (!e || !e.payload) break;
      if (e.captureMs + this.delay > now) break;
      last = s;
    }
    if (last < 0) return key.captureMs + this.delay;
    const shown = this.buf.get(last)!;
    this.started = true;
    this.delay = Math.max(this.c.targetDelayMs, now - shown.captureMs);
    this.sink?.started(now - joinedAt);
    this.stats.played++;
    this.stats.onTime++;
    this.sink?.played(this.delay, true, shown.payload!.length);
    if (this.sink?.decode) for (let s = this.head; s <= last; s++) this.sink.decode(s, this.buf.get(s)!.payload!);
    this.head = last + 1;
    return now;
  }
}
