/**
 * The soak's publishers: RTMP pushes of the fanout bench's synthetic stream (each frame's id in
 * its payload), paced in real time. Some restart: the connection is dropped without a goodbye,
 * as a crashed encoder's would be, and a new one publishes the same key shortly after, from its
 * next keyframe (frames captured meanwhile are never sent).
 */
import { RtmpPushClient } from '../../server/rtmp/RtmpPushClient.js';
import { AUDIO_CONFIG, VIDEO_CONFIG, makeSource, toMediaFrame } from '../fanout/stream.js';
import type { SyntheticSource } from '../transport/Source.js';
import { SentLedger } from './ledger.js';

export interface PublisherOptions {
  url: string;
  localAddress: string;
  bitrateBps: number;
  seed: number;
  /** Restart every this many ms (undefined: never), down for `downMs`. */
  restartEveryMs?: number;
  downMs: number;
  onError: (cls: string) => void;
}

export class SoakPublisher {
  readonly ledger = new SentLedger();
  restarts = 0;
  private readonly source: SyntheticSource;
  private client: RtmpPushClient | undefined;
  private connecting = false;
  private waitKeyframe = true;
  private readonly t0 = performance.now();
  private nextRestart: number;
  private downUntil = 0;
  private stopped = false;

  constructor(private readonly o: PublisherOptions) {
    this.source = makeSource(o.bitrateBps, o.seed);
    this.nextRestart = o.restartEveryMs ?? Infinity;
  }

  /** Called on a short timer: connects when needed, restarts when due, sends what is due. */
  tick(): void {
    if (this.stopped) return;
    const now = performance.now() - this.t0;
    if (now >= this.nextRestart && this.client) {
      this.client.close();
      this.client = undefined;
      this.restarts++;
      this.downUntil = now + this.o.downMs;
      this.nextRestart = now + (this.o.restartEveryMs ?? Infinity);
    }
    if (!this.client && !this.connecting && now >= this.downUntil) this.connect();
    const frames = this.source.take(now);
    const c = this.client;
    if (!c) return;
    for (const f of frames) {
      if (this.waitKeyframe) {
        if (f.kind !== 'video' || !f.keyframe) continue;
        this.waitKeyframe = false;
        this.ledger.startSession(f.id);
      }
      // a publisher the server stopped reading is a fault the soak reports, not one it hides
      if (c.pending > 8 << 20) {
        this.o.onError('publisher_backlog');
        c.close();
        this.client = undefined;
        return;
      }
      c.sendFrame(toMediaFrame(f));
      this.ledger.sent(f.id);
    }
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
    this.client = undefined;
  }

  private connect(): void {
    this.connecting = true;
    RtmpPushClient.publish(this.o.url, 5000, this.o.localAddress)
      .then((c) => {
        this.connecting = false;
        if (this.stopped) return c.close();
        c.sendMetadata({ width: 320, height: 240, framerate: 30, videocodecid: 7, audiocodecid: 10, videodatarate: this.o.bitrateBps / 1000 });
        c.sendConfig(VIDEO_CONFIG);
        c.sendConfig(AUDIO_CONFIG);
        this.client = c;
        this.waitKeyframe = true;
        void c.closed.then(() => {
          if (this.client === c) {
            this.o.onError('publisher_dropped');
            this.client = undefined;
          }
        });
      })
      .catch(() => {
        this.connecting = false;
        this.o.onError('publisher_refused');
        this.downUntil = performance.now() - this.t0 + 1000;
      });
  }
}
