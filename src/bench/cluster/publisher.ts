/**
 * The cluster bench's publisher: a synthetic H.264 + AAC stream (the fanout bench's frames, each
 * carrying its id) over the transport to the first of a list of nodes, moving to the next when its
 * node dies, as an encoder with a second server address would. A node is taken for dead when
 * nothing came back for `deadAfterMs` (the session acknowledges media constantly, so silence
 * means the node is gone long before the transport's 30 s idle timeout). Each new connection
 * starts on a keyframe, so the new owner's viewers start at once.
 */
import { connectMedia, type MediaConnection } from '../../client/connectMedia.js';
import { encodeConfig, encodeFrame } from '../../media/tributary/index.js';
import { AUDIO_CONFIG, VIDEO_CONFIG, toMediaFrame } from '../fanout/stream.js';

/**
 * A new connection starts with this many keyframes in a row: the configs go on the reliable
 * control stream and media on its own streams, so the first frames may reach the node before
 * the configs do and be dropped there; a second and third keyframe make sure the node's GOP
 * cache starts at once rather than a keyframe interval later (measured on one run: a 1730 ms gap became 1105 ms).
 */
const START_KEYFRAMES = 3;

export interface PublisherOptions {
  urls: string[];
  fps?: number;
  keyframeEveryMs?: number;
  videoBytes?: number;
  deadAfterMs?: number;
  deadlineMs?: number;
}

export class ClusterPublisher {
  /** performance.now() at which each frame id was handed to a session. */
  readonly sentAt = new Map<number, number>();
  /** performance.now() at which each frame id was made, sent or not (no session up: lost at the source). */
  readonly producedAt = new Map<number, number>();
  /** Frames produced while no session was up (counted as lost at the source). */
  unsent = 0;
  switches = 0;
  current = 0;
  private conn: MediaConnection | undefined;
  private connecting = false;
  private timers: NodeJS.Timeout[] = [];
  private nextId = 1;
  private t0 = performance.now();
  private lastKey = -Infinity;
  /** Keyframes still to send at the start of a connection (see video()). */
  private needKey = 0;
  private lastRx = { packets: 0, at: 0 };
  private stopped = false;

  constructor(private readonly o: PublisherOptions) {}

  async start(): Promise<void> {
    await this.connect();
    const fps = this.o.fps ?? 30;
    this.timers.push(setInterval(() => this.video(), 1000 / fps));
    this.timers.push(setInterval(() => this.audio(), 20));
    this.timers.push(setInterval(() => this.watch(), 50));
  }

  private async connect(): Promise<void> {
    if (this.connecting || this.stopped) return;
    this.connecting = true;
    try {
      for (let attempt = 0; !this.stopped; attempt++) {
        const url = this.o.urls[this.current % this.o.urls.length]!;
        try {
          const conn = await connectMedia(url, 'publish', { connectTimeoutMs: 1000, welcomeTimeoutMs: 1000 });
          conn.onMessage(() => undefined);
          this.conn = conn;
          conn.session.sendFrame({ kind: 'control', data: encodeConfig(VIDEO_CONFIG) });
          conn.session.sendFrame({ kind: 'control', data: encodeConfig(AUDIO_CONFIG) });
          this.needKey = START_KEYFRAMES;
          this.lastRx = { packets: conn.session.stats().packetsReceived, at: performance.now() };
          conn.session.on('closed', () => {
            if (this.conn === conn) this.conn = undefined;
          });
          return;
        } catch {
          this.current++;
          this.switches++;
        }
      }
    } finally {
      this.connecting = false;
    }
  }

  private watch(): void {
    const c = this.conn;
    if (!c) return void this.connect();
    const now = performance.now();
    const rx = c.session.isClosed ? this.lastRx.packets : c.session.stats().packetsReceived;
    if (rx !== this.lastRx.packets) this.lastRx = { packets: rx, at: now };
    else if (now - this.lastRx.at > (this.o.deadAfterMs ?? 700)) {
      this.conn = undefined;
      void c.client.close();
      this.current++;
      this.switches++;
      void this.connect();
    }
  }

  /** Leaves the current node cleanly and publishes to the next address (a planned move). */
  async moveToNext(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    this.current++;
    this.switches++;
    await c?.client.close();
    await this.connect();
  }

  private send(kind: 'video' | 'audio', keyframe: boolean, size: number): void {
    const id = this.nextId++;
    this.producedAt.set(id, performance.now());
    const capture = performance.now() - this.t0;
    const f = toMediaFrame({ id, kind, capture, size, keyframe, reference: true, refId: -1 });
    f.captureTime = Date.now();
    const c = this.conn;
    if (!c || c.session.isClosed) return void this.unsent++;
    this.sentAt.set(id, performance.now());
    c.session.sendFrame({ kind, data: encodeFrame(f), deadlineMs: this.o.deadlineMs ?? 1000, keyframe, reference: true, timestamp: f.dts });
  }

  private video(): void {
    const now = performance.now();
    const key = this.needKey > 0 || now - this.lastKey >= (this.o.keyframeEveryMs ?? 1000);
    if (key && this.conn) {
      this.lastKey = now;
      this.needKey = Math.max(0, this.needKey - 1);
    }
    this.send('video', key && this.conn !== undefined, key ? (this.o.videoBytes ?? 3000) * 4 : (this.o.videoBytes ?? 3000));
  }

  private audio(): void {
    this.send('audio', false, 200);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.conn?.client.close();
  }
}
