import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodecConfig, MediaFrame } from '../../../src/media/frame.js';
import { demuxFmp4 } from '../../../src/media/mp4/Fmp4Demuxer.js';
import type { Stream } from '../../../src/server/Stream.js';
import { requireProgram } from './tools.js';

export interface Fixture {
  configs: CodecConfig[];
  frames: MediaFrame[];
  durationMs: number;
}

let cached: Fixture | undefined;

/**
 * Real H.264/AAC frames: ffmpeg encodes 3 s of testsrc2 + sine (320x240, GOP 30) to fragmented
 * MP4 and the project's fMP4 demuxer turns it into frames. Used to publish into a Stream
 * directly, for tests of the HTTP outputs that don't need an RTMP push.
 */
export function fixture(): Fixture {
  if (cached) return cached;
  requireProgram('ffmpeg');
  const dir = mkdtempSync(join(tmpdir(), 'trib-fixture-'));
  try {
    const file = join(dir, 'a.mp4');
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
      '-f', 'lavfi', '-i', 'sine', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30',
      '-c:a', 'aac', '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', file]);
    if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
    const { tracks, outputs } = demuxFmp4(readFileSync(file));
    const frames = outputs.flatMap((o) => (o.type === 'frame' ? [o.frame] : [])).sort((a, b) => a.dts - b.dts);
    const last = frames[frames.length - 1]!;
    cached = { configs: tracks.map((t) => t.config), frames, durationMs: Math.ceil(last.dts + 34) };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Publishes the fixture into a stream in real time, looping, until stopped. */
export class Pump {
  private timer: NodeJS.Timeout | undefined;
  private i = 0;
  private loop = 0;
  private startedAt = 0;
  readonly publisher = { id: 'pump', protocol: 'test-pump', remoteAddress: '127.0.0.1:0', close: () => this.stop() };

  constructor(
    private readonly stream: Stream,
    private readonly fx: Fixture = fixture(),
  ) {}

  start(): this {
    this.stream.publish(this.publisher);
    for (const c of this.fx.configs) this.stream.pushConfig(c);
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 10);
    this.tick();
    return this;
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.unpublish(this.publisher);
  }

  private tick(): void {
    const elapsed = Date.now() - this.startedAt;
    for (;;) {
      const f = this.fx.frames[this.i]!;
      const offset = this.loop * this.fx.durationMs;
      if (f.dts + offset > elapsed) return;
      this.stream.pushFrame({ ...f, dts: f.dts + offset, pts: f.pts + offset, captureTime: Date.now() });
      if (++this.i === this.fx.frames.length) {
        this.i = 0;
        this.loop++;
      }
    }
  }
}
