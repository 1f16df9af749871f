import type { Readable } from 'node:stream';
import type { Registry } from '../../server/Registry.js';
import type { Stream } from '../../server/Stream.js';
import { FfmpegProcess } from '../FfmpegProcess.js';
import type { InputSpec } from '../JobSpec.js';
import { Backoff } from '../ProcessingJob.js';
import { StreamFeed, type FedTimes } from '../StreamFeed.js';
import { AudioAlign } from './AudioAlign.js';
import { pictureBytes, type Picture } from './compose.js';
import { probe } from './probe.js';

export const SAMPLE_RATE = 48_000;
/** Audio held per input at most (older samples are dropped): it bounds the added delay, ms. */
const MAX_AUDIO_MS = 300;
/** After an overflow, keep this much. */
const KEEP_AUDIO_MS = 100;

export type MixInputState = 'waiting' | 'probing' | 'starting' | 'live' | 'restarting' | 'failed';

/**
 * One input of a mix: its own ffmpeg decodes it (a stream of the server fed as FLV, or a file
 * or URL) to raw I420 pictures at the mix's size (scaled and cropped to its aspect: an input
 * that changes resolution or codec mid-stream is rescaled by the same filter) and to s16
 * stereo at 48 kHz on a pipe of its own. The compositor takes the newest picture whenever it
 * wants one and a tick of audio; nothing here ever makes it wait.
 *
 * Capture times: the decoder's k-th picture is the k-th video frame fed (no reordering; after
 * an input's gap ffmpeg repeats pictures, which take the next fed frame's time and then run
 * out, so the count realigns), so each picture carries its input frame's capture time.
 */
export class MixInput {
  state: MixInputState = 'waiting';
  reason: string | null = null;
  latest: Picture | undefined;
  /** When the newest picture came out of the decoder. */
  latestAt = -Infinity;
  latestTimes: FedTimes | undefined;
  pictures = 0;
  /** Video frames fed to the decoder (stream inputs). */
  fedCount = 0;
  /** When the newest video frame went into the decoder (stream inputs). */
  lastFedAt = -Infinity;
  /** Fed frame to decoded picture, ms (smoothed). */
  decodeDelayMs: number | undefined;
  restarts = 0;
  audioUnderruns = 0;
  audioDropped = 0;
  /** Keeps the sound with the picture (stream inputs: their frames' times are known). */
  readonly align = new AudioAlign(SAMPLE_RATE);
  private proc: FfmpegProcess | undefined;
  private feed: StreamFeed | undefined;
  private fed: FedTimes[] = [];
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private audio: Int16Array[] = [];
  private audioSamples = 0;
  private audioPartial: Buffer | undefined;
  private retryAt = 0;
  private starts = 0;
  private readonly backoff = new Backoff();
  private probed: { audio: boolean } | undefined;
  private closed = false;

  constructor(
    readonly index: number,
    readonly source: InputSpec,
    private readonly width: number,
    private readonly height: number,
    private readonly registry: Registry,
    private readonly ffmpeg = 'ffmpeg',
  ) {}

  /** A stream of the server, fed to the decoder by this process (so lastFedAt says when the input last sent). */
  get feeds(): boolean {
    return 'stream' in this.source;
  }

  get label(): string {
    return 'stream' in this.source ? this.source.stream : this.source.url;
  }

  get process(): FfmpegProcess | undefined {
    return this.proc;
  }

  /** Called on every compositor wake-up: starts or restarts the decoder when it is time. */
  maintain(now: number): void {
    if (this.closed || this.proc || this.state === 'probing' || this.state === 'failed' || now < this.retryAt) return;
    if ('stream' in this.source) {
      const s = this.stream();
      if (!s || !s.videoConfig) return void this.set('waiting', `input ${this.source.stream} is not live`);
      return this.spawn(s, s.audioConfig !== undefined);
    }
    if (!this.probed) {
      this.set('probing', null);
      void probe(this.source.url).then((r) => {
        if (this.closed) return;
        if (!r.ok) return this.set('failed', r.reason);
        this.probed = { audio: r.audio };
        this.set('starting', null);
      });
      return;
    }
    this.spawn(undefined, this.probed.audio);
  }

  /** Audio waiting for the compositor, ms: how far this input's sound is behind its picture in the mix. */
  get audioQueuedMs(): number {
    return (this.audioSamples / 2 / SAMPLE_RATE) * 1000;
  }

  /**
   * One tick of audio (`samples` stereo frames, interleaved), or undefined for silence. What
   * lags the picture shown (`latestTimes`) by more than AudioAlign's tolerance is dropped first.
   */
  takeAudio(samples: number): Int16Array | undefined {
    const late = this.align.dropBefore(this.latestTimes?.pts, this.audioSamples / 2);
    if (late > 0) this.skipAudio(late * 2);
    const need = samples * 2;
    if (this.audioSamples < need) {
      if (this.state === 'live') this.audioUnderruns++;
      return undefined;
    }
    const out = new Int16Array(need);
    let filled = 0;
    while (filled < need) {
      const head = this.audio[0]!;
      const n = Math.min(head.length, need - filled);
      out.set(head.subarray(0, n), filled);
      filled += n;
      if (n === head.length) this.audio.shift();
      else this.audio[0] = head.subarray(n);
    }
    this.audioSamples -= need;
    this.align.consumed(samples);
    return out;
  }

  /** Drops `n` interleaved samples from the FIFO's head (n even: whole stereo frames). */
  private skipAudio(n: number): void {
    let left = Math.min(n, this.audioSamples);
    this.align.consumed(left / 2);
    this.audioSamples -= left;
    while (left > 0) {
      const head = this.audio[0]!;
      if (head.length <= left) {
        left -= head.length;
        this.audio.shift();
      } else {
        this.audio[0] = head.subarray(left);
        left = 0;
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.feed?.close('mix closed');
    await this.proc?.stop();
  }

  private stream(): Stream | undefined {
    if (!('stream' in this.source)) return undefined;
    const [app, key] = this.source.stream.split('/') as [string, string];
    const s = this.registry.find(app, key);
    return s?.isLive ? s : undefined;
  }

  private set(state: MixInputState, reason: string | null): void {
    this.state = state;
    this.reason = reason;
  }

  private spawn(stream: Stream | undefined, audio: boolean): void {
    const input = stream
      // No probing window: the feed starts with both sequence headers, so the tracks are known at
      // once, and a live pipe never gets back the time a probe spends buffering.
      ? ['-fflags', '+nobuffer', '-flags', 'low_delay', '-analyzeduration', '0', '-probesize', '32', '-f', 'flv', '-i', 'pipe:0']
      : [...(/^[a-z]+:\/\//i.test(this.label) ? ['-rw_timeout', '5000000'] : ['-re']), ...('loop' in this.source && this.source.loop ? ['-stream_loop', '-1'] : []), '-i', this.label];
    const { width: w, height: h } = this;
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', ...input,
      '-map', '0:v:0', '-vf', `scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h},setsar=1,format=yuv420p`,
      // The default frame-rate mode (cfr for rawvideo): with passthrough or vfr, ffmpeg 5.1 held
      // about a second of pictures before writing them (measured: 1.1 s vs 0.15 s fed to
      // decoded). cfr repeats a picture over an input's gap, which the compositor ignores.
      '-flush_packets', '1', '-f', 'rawvideo', 'pipe:1'];
    // flush_packets: without it 32 KiB of audio (170 ms) waits in ffmpeg's pipe buffer.
    // aresample=async=1 pads a gap in a stream's audio with silence, so the samples stay on its
    // timestamps and AudioAlign can count them back to media time.
    if (audio) args.push('-map', '0:a:0', ...(stream ? ['-af', 'aresample=async=1'] : []), '-ar', String(SAMPLE_RATE), '-ac', '2', '-flush_packets', '1', '-f', 's16le', 'pipe:3');
    const proc = new FfmpegProcess({ ffmpeg: this.ffmpeg, args, stdin: stream !== undefined, stdout: true, extraPipes: audio ? 1 : 0 });
    this.proc = proc;
    if (this.starts++ > 0) this.restarts++;
    this.set('starting', null);
    this.fed = [];
    this.chunks = [];
    this.chunkBytes = 0;
    this.audioPartial = undefined;
    this.audio = [];
    this.audioSamples = 0;
    this.align.reset();
    let produced = false;
    const frameBytes = pictureBytes(w, h);
    proc.child.stdout!.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.chunkBytes += c.length;
      while (this.chunkBytes >= frameBytes) {
        const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
        this.latest = { width: w, height: h, data: new Uint8Array(all.buffer, all.byteOffset, frameBytes) };
        const rest = all.subarray(frameBytes);
        this.chunks = rest.length ? [rest] : [];
        this.chunkBytes = rest.length;
        this.latestAt = Date.now();
        this.latestTimes = this.fed.shift();
        if (this.latestTimes) {
          const d = this.latestAt - this.latestTimes.fedAt;
          this.decodeDelayMs = this.decodeDelayMs === undefined ? d : 0.9 * this.decodeDelayMs + 0.1 * d;
        }
        this.pictures++;
        if (!produced) {
          produced = true;
          this.backoff.reset();
          this.set('live', null);
        }
      }
    });
    if (audio) (proc.pipe(3) as Readable).on('data', (c: Buffer) => this.pushAudio(c));
    if (stream) {
      this.feed = new StreamFeed(stream, proc.child.stdin!, {
        video: (t) => {
          this.fedCount++;
          this.lastFedAt = t.fedAt;
          this.fed.push(t);
          if (this.fed.length > 300) this.fed.shift();
        },
        audio: (pts) => {
          if (!this.align.started) this.align.start(pts);
        },
      });
      this.feed.onClosed = () => {
        if (this.proc === proc) proc.child.kill('SIGKILL');
      };
    }
    proc.exited.then((exit) => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      this.feed?.close('decoder ended');
      this.feed = undefined;
      if (this.closed) return;
      if (exit.code === 0 && !stream) return this.set('failed', 'input ended');
      const delay = this.backoff.take();
      this.retryAt = Date.now() + delay;
      this.set(stream && !this.stream() ? 'waiting' : 'restarting', `${exit.lastError || `decoder exited (${exit.signal ?? exit.code})`}; retry in ${delay} ms`);
    });
  }

  private pushAudio(c: Buffer): void {
    // s16 stereo frames are 4 bytes: keep a partial frame for the next chunk.
    let buf = this.audioPartial ? Buffer.concat([this.audioPartial, c]) : c;
    const whole = buf.length - (buf.length % 4);
    this.audioPartial = whole < buf.length ? Buffer.from(buf.subarray(whole)) : undefined;
    buf = buf.subarray(0, whole);
    if (buf.length === 0) return;
    const copy = new Int16Array(buf.length / 2);
    for (let i = 0; i < copy.length; i++) copy[i] = buf.readInt16LE(i * 2);
    this.audio.push(copy);
    this.audioSamples += copy.length;
    const max = ((SAMPLE_RATE * MAX_AUDIO_MS) / 1000) * 2;
    if (this.audioSamples > max) {
      const keep = ((SAMPLE_RATE * KEEP_AUDIO_MS) / 1000) * 2;
      while (this.audioSamples - this.audio[0]!.length >= keep) {
        this.audioSamples -= this.audio[0]!.length;
        this.audioDropped += this.audio[0]!.length;
        this.align.consumed(this.audio[0]!.length / 2);
        this.audio.shift();
      }
    }
  }
}
