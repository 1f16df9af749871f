/**
 * Where `tributary send` gets its media: a local RTMP listener for OBS/ffmpeg (the project's own
 * RTMP server, one stream), MPEG-TS on stdin or a UDP port, or an FLV/TS file played in real time.
 * Every input stamps a frame's captureTime when it arrives from the encoder.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import type { CodecConfig, DemuxOutput, MediaFrame } from '../../media/frame.js';
import { FlvDemuxer } from '../../media/flv/FlvDemuxer.js';
import { TsDemuxer } from '../../media/ts/TsDemuxer.js';
import { Registry } from '../../server/Registry.js';
import { RtmpServer } from '../../server/rtmp/RtmpServer.js';
import { Subscriber } from '../../server/Subscriber.js';

export interface MediaSink {
  config(c: CodecConfig): void;
  metadata(values: Record<string, unknown>): void;
  frame(f: MediaFrame): void;
  /** The input ended (a file without --loop, stdin closed). */
  end(reason: string): void;
}

export interface MediaInput {
  readonly describe: string;
  start(sink: MediaSink): Promise<void>;
  close(): Promise<void>;
  /**
   * An input that runs the encoder itself (EncoderInput) takes the transport's target, media
   * bit/s, a few times a second; a fixed-rate input has no such method and the transport sheds.
   */
  followTarget?(bps: number): void;
  /** The media rate it starts at, bit/s, known before any metadata (the controller starts there). */
  readonly startBitrateBps?: number;
}

export function openInput(spec: string, o: { loop?: boolean } = {}): MediaInput {
  if (spec.startsWith('rtmp://')) return new RtmpInput(spec);
  if (spec === '-') return new TsStreamInput('stdin');
  if (spec.startsWith('udp://')) return new TsStreamInput(spec);
  return new FileInput(spec, o.loop ?? false);
}

function forward(outs: DemuxOutput[], sink: MediaSink, now = Date.now()): void {
  for (const o of outs) {
    if (o.type === 'config') sink.config(o.config);
    else if (o.type === 'metadata') sink.metadata(o.values);
    else {
      o.frame.captureTime = now;
      sink.frame(o.frame);
    }
  }
}

/** Taps the one stream of a local RTMP server: configs, metadata and frames as the encoder sends them. */
class Tap extends Subscriber {
  private seen: { video?: CodecConfig; audio?: CodecConfig; metadata?: Record<string, unknown> } = {};
  constructor(private readonly sink: MediaSink) {
    super('send-tap', 'tap', 'local', { skipBytes: Infinity, cutBytes: Infinity });
  }
  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void {
    if (metadata && metadata !== this.seen.metadata) this.sink.metadata((this.seen.metadata = metadata));
    if (video && video !== this.seen.video) this.sink.config((this.seen.video = video));
    if (audio && audio !== this.seen.audio) this.sink.config((this.seen.audio = audio));
  }
  protected writeFrame(frame: MediaFrame): void {
    this.sink.frame(frame);
  }
  pendingBytes(): number {
    return 0;
  }
  protected onClose(): void {}
}

class RtmpInput implements MediaInput {
  readonly describe: string;
  private readonly registry = new Registry();
  private readonly server: RtmpServer;
  private readonly host: string;
  private readonly port: number;
  private readonly app: string;
  private readonly key: string;

  constructor(url: string) {
    const u = new URL(url);
    const parts = u.pathname.split('/').filter(Boolean);
    if (parts.length !== 2) throw new Error(`RTMP input must be rtmp://HOST:PORT/APP/KEY, got ${url}`);
    [this.app, this.key] = parts as [string, string];
    this.host = u.hostname || '127.0.0.1';
    this.port = u.port ? Number(u.port) : 1935;
    this.describe = `rtmp://${this.host}:${this.port}/${this.app}/${this.key}`;
    // Only this app/key may publish: the listener exists for one local encoder.
    this.server = new RtmpServer({
      registry: this.registry,
      authorize: (action, app, key) => (action === 'publish' && app === this.app && key === this.key ? undefined : `this sender takes only ${this.app}/${this.key}`),
    });
  }

  /** The bound port (useful when the URL said port 0). */
  boundPort = 0;

  async start(sink: MediaSink): Promise<void> {
    this.registry.app(this.app).stream(this.key).subscribe(new Tap(sink));
    this.boundPort = await this.server.listen(this.port, this.host);
  }

  async close(): Promise<void> {
    await this.server.close();
    this.registry.close();
  }
}

class TsStreamInput implements MediaInput {
  readonly describe: string;
  private socket: Socket | undefined;
  private readonly demuxer = new TsDemuxer();

  constructor(private readonly spec: string) {
    this.describe = spec === 'stdin' ? 'MPEG-TS on stdin' : `MPEG-TS on ${spec}`;
  }

  async start(sink: MediaSink): Promise<void> {
    if (this.spec === 'stdin') {
      process.stdin.on('data', (d: Buffer) => forward(this.demuxer.push(d), sink));
      process.stdin.on('end', () => sink.end('stdin closed'));
      return;
    }
    const u = new URL(this.spec);
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('message', (d) => forward(this.demuxer.push(d), sink));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(Number(u.port), u.hostname || '0.0.0.0', () => resolve());
    });
  }

  async close(): Promise<void> {
    this.socket?.close();
    process.stdin.pause();
  }
}

/** A file played at its own pace (frame dts against the wall clock), looped with rising timestamps. */
class FileInput implements MediaInput {
  readonly describe: string;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly path: string, private readonly loop: boolean) {
    this.describe = `${path}${loop ? ' (looped)' : ''}`;
  }

  async start(sink: MediaSink): Promise<void> {
    const bytes = new Uint8Array(await readFile(this.path));
    const outs = bytes[0] === 0x46 && bytes[1] === 0x4c && bytes[2] === 0x56 ? new FlvDemuxer().push(bytes) : demuxTs(bytes);
    const frames = outs.filter((o): o is { type: 'frame'; frame: MediaFrame } => o.type === 'frame');
    if (frames.length === 0) throw new Error(`${this.path}: no media frames found (FLV or MPEG-TS expected)`);
    forward(outs.filter((o) => o.type !== 'frame'), sink);
    const first = frames[0]!.frame.dts;
    const last = frames[frames.length - 1]!.frame.dts;
    const period = last - first + 40;
    const t0 = Date.now();
    let i = 0;
    let lap = 0;
    const step = (): void => {
      if (this.closed) return;
      const now = Date.now();
      while (i < frames.length) {
        const f = frames[i]!.frame;
        const due = t0 + lap * period + (f.dts - first);
        if (due > now) break;
        const off = lap * period;
        sink.frame({ ...f, dts: f.dts + off, pts: f.pts + off, captureTime: now });
        i++;
      }
      if (i === frames.length) {
        if (!this.loop) return sink.end('end of file');
        i = 0;
        lap++;
      }
      this.timer = setTimeout(step, 5);
    };
    step();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

function demuxTs(bytes: Uint8Array): DemuxOutput[] {
  const d = new TsDemuxer();
  return [...d.push(bytes), ...d.flush()];
}
