import type { Writable } from 'node:stream';
import type { MediaFrame } from '../../media/frame.js';
import { PublishRefusedError } from '../../server/Stream.js';
import { FfmpegProcess } from '../FfmpegProcess.js';
import { issuesOf, MixPatch, MixSpec, type LayoutSpec } from '../JobSpec.js';
import { PipePublisher } from '../PipePublisher.js';
import { ApiError, Backoff, type JobInfo, type JobState, type ProcessingJob } from '../ProcessingJob.js';
import type { JobDeps } from '../TranscodeJob.js';
import { drawInto, mixAudio, pictureBytes, solidPicture, type Picture } from './compose.js';
import { layoutSlots, type Slot } from './layout.js';
import { MixClock } from './MixClock.js';
import { MixInput, SAMPLE_RATE } from './MixInput.js';
import { loadSlate, SLATE_COLOUR } from './slate.js';

/** Frames queued to the encoder beyond which a frame is not written (the encoder is behind). */
const MAX_QUEUED_FRAMES = 8;
/** Composed frames remembered for the output's capture times. */
const TIMES_KEPT = 256;

interface FrameTimes {
  composedAt: number;
  /** Stalls whose first slate frame this is. */
  slates?: StallStages[];
  fedAt: number | undefined;
  capture: number | undefined;
}

interface Encoder {
  proc: FfmpegProcess;
  publisher: PipePublisher | undefined;
  /** Frames written to this encoder: its frame n (pts n / fps) is the n-th written, whatever the clock skipped. */
  written: number;
  times: Map<number, FrameTimes>;
  audio: Writable;
}

export interface MixStats {
  frames: number;
  /** Frames the clock skipped (the server was stopped longer than a few frames). */
  skippedFrames: number;
  /** Frames not written because the encoder was behind. */
  encoderBehind: number;
  /** Wake-ups of the compositor more than 100 ms after their frame was due (the event loop was held). */
  lateWakeups: number;
  /** Per input: frames composed with the slate in its place, stalls seen, and each stall's time to slate, ms. */
  inputs: Array<{ slateFrames: number; stalls: number; slateAfterMs: number[]; stallStages: StallStages[] }>;
}

/** One stall of an input, stage by stage (Date.now() times): where the time to the slate goes. */
export interface StallStages {
  /** The input's last video frame went into its decoder. */
  lastFedAt: number;
  /** Its last picture came out of the decoder. */
  lastPictureAt: number;
  /** The first frame with the slate in its place was composed. */
  composedAt: number;
  /** That frame came out of the encoder and was published (undefined until it does). */
  publishedAt: number | undefined;
}

/** Stall records kept per input. */
const STALLS_KEPT = 200;

/**
 * A mix: inputs decoded each by its own ffmpeg (MixInput), composed in Node on a constant-rate
 * clock (MixClock) into I420 pictures, audio mixed with gains, and one x264 zerolatency encoder
 * (GOP 2 s) fed by two raw pipes, its FLV published as the output stream.
 *
 * The compositor never waits: at each frame it takes each input's newest picture; one with no
 * new picture for `stallMs` (or none yet) is replaced by the slate, and its audio by silence.
 * PATCH changes layout, main input and gains between two frames. The encoder dying is
 * restarted with backoff while composition goes on (the output stream's viewers wait through
 * the App's grace and continue on one timeline).
 */
export class MixJob implements ProcessingJob {
  readonly kind = 'mix' as const;
  state: JobState = 'starting';
  reason: string | null = null;
  restarts = 0;
  readonly inputs: MixInput[];
  readonly stats: MixStats;
  private spec: MixSpec;
  private slots: Slot[];
  private readonly clock: MixClock;
  private readonly canvas: Picture;
  private slate: Picture;
  private readonly audioOut: Int16Array[];
  private audioCarry = 0;
  private encoder: Encoder | undefined;
  private encoderRetryAt = 0;
  private readonly backoff = new Backoff();
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number | undefined;
  private stalled: boolean[];
  private readonly startedAt = new Date();
  private closed = false;
  private cpu = 0;

  constructor(
    readonly id: string,
    spec: MixSpec,
    private readonly deps: JobDeps,
  ) {
    this.spec = spec;
    const { width, height } = spec;
    this.inputs = spec.inputs.map((inp, i) => new MixInput(i, inp.source, width, height, deps.registry, deps.ffmpeg));
    this.slots = layoutSlots(spec.layout, spec.inputs.length, spec.main, width, height);
    this.clock = new MixClock(spec.fps);
    this.canvas = solidPicture(width, height, 16, 128, 128);
    this.slate = solidPicture(width, height, ...SLATE_COLOUR);
    this.audioOut = [];
    this.stalled = spec.inputs.map(() => true);
    this.stats = { frames: 0, skippedFrames: 0, encoderBehind: 0, lateWakeups: 0, inputs: spec.inputs.map(() => ({ slateFrames: 0, stalls: 0, slateAfterMs: [], stallStages: [] })) };
  }

  static parse(body: unknown): MixSpec {
    const r = MixSpec.safeParse(body);
    if (!r.success) throw new ApiError(400, 'invalid mix spec', issuesOf(r.error));
    return r.data;
  }

  get outputs(): string[] {
    return [this.spec.output];
  }

  get inputStreams(): string[] {
    return this.spec.inputs.flatMap((i) => ('stream' in i.source ? [i.source.stream] : []));
  }

  get layout(): LayoutSpec {
    return this.spec.layout;
  }

  start(): void {
    if (this.closed || this.timer) return;
    if (this.spec.slate) {
      void loadSlate(this.spec.slate, this.spec.width, this.spec.height, this.deps.ffmpeg).then(
        (p) => (this.slate = p),
        (err: Error) => this.deps.logger.warn({ job: this.id, reason: err.message }, 'slate not loaded: using the plain one'),
      );
    }
    this.wake();
  }

  patch(body: unknown): void {
    const r = MixPatch.safeParse(body);
    if (!r.success) throw new ApiError(400, 'invalid mix patch', issuesOf(r.error));
    const p = r.data;
    const n = this.spec.inputs.length;
    const main = p.main ?? this.spec.main;
    const layout = p.layout ?? this.spec.layout;
    if (main >= n) throw new ApiError(422, `main: there are only ${n} inputs`);
    if ((layout.type === 'pip' || layout.type === 'side-by-side') && n !== 2) throw new ApiError(422, `layout: ${layout.type} takes exactly 2 inputs (this mix has ${n})`);
    if (p.gains && p.gains.length !== n) throw new ApiError(422, `gains: ${n} values expected, one per input`);
    const inputs = p.gains ? this.spec.inputs.map((inp, i) => ({ ...inp, gain: p.gains![i]! })) : this.spec.inputs;
    this.spec = { ...this.spec, main, layout, inputs };
    // Takes effect at the next composed frame.
    this.slots = layoutSlots(layout, n, main, this.spec.width, this.spec.height);
  }

  info(now = Date.now()): JobInfo {
    let cpu = this.encoder?.proc.cpuShare(now) ?? 0;
    for (const i of this.inputs) cpu += i.process?.cpuShare(now) ?? 0;
    this.cpu = cpu;
    return {
      id: this.id, kind: 'mix', state: this.state, reason: this.reason, restarts: this.restarts,
      cpu: Math.round(this.cpu * 1000) / 1000, delayMs: this.delayMs === undefined ? null : Math.round(this.delayMs),
      inputs: this.inputs.map((i) => i.label), outputs: this.outputs, startedAt: this.startedAt.toISOString(),
      spec: { ...this.spec, inputStates: this.inputs.map((i) => ({ input: i.label, state: i.state, reason: i.reason, restarts: i.restarts, stalled: this.stalled[i.index], decodeDelayMs: i.decodeDelayMs === undefined ? null : Math.round(i.decodeDelayMs), audioQueuedMs: Math.round(i.audioQueuedMs), audioUnderruns: i.audioUnderruns, audioDroppedMs: Math.round((i.audioDropped / 2 / SAMPLE_RATE) * 1000), audioSyncDroppedMs: Math.round(i.align.droppedMs), audioRebased: i.align.rebased })), stats: this.stats },
    };
  }

  /** The running encoder (tests kill it). */
  get encoderProcess(): FfmpegProcess | undefined {
    return this.encoder?.proc;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const enc = this.encoder;
    this.encoder = undefined;
    enc?.publisher?.close();
    await Promise.all([enc?.proc.stop(), ...this.inputs.map((i) => i.close())]);
    this.state = 'stopped';
    this.reason = 'stopped';
  }

  /** One wake-up of the compositor: decoders and encoder kept alive, every due frame produced. */
  private wake(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = Date.now();
    for (const i of this.inputs) i.maintain(now);
    if (!this.encoder && now >= this.encoderRetryAt) this.startEncoder();
    if (now - this.clock.nextAt() > 100 && this.clock.produced > 0) this.stats.lateWakeups++;
    const due = this.clock.due(now);
    for (let k = 0; k < due; k++) this.produce(now);
    this.stats.skippedFrames = this.clock.skipped;
    this.timer = setTimeout(() => this.wake(), Math.max(1, this.clock.nextAt() - Date.now()));
  }

  private produce(now: number): void {
    this.clock.take();
    const c = this.canvas;
    const ys = c.width * c.height;
    c.data.fill(16, 0, ys);
    c.data.fill(128, ys);
    const slates: StallStages[] = [];
    for (const slot of this.slots) {
      const inp = this.inputs[slot.input]!;
      // Stalled when the input stopped sending (judged where its frames go into the decoder, so
      // a decoder that lags on a loaded machine does not add its lag to the slate's time) or
      // its decoder stopped giving pictures; either for stallMs.
      const lastSign = inp.feeds ? Math.min(inp.lastFedAt, inp.latestAt) : inp.latestAt;
      const fresh = inp.latest !== undefined && now - lastSign <= this.spec.stallMs;
      const st = this.stats.inputs[slot.input]!;
      if (!fresh && !this.stalled[slot.input]) {
        st.stalls++;
        st.slateAfterMs.push(now - lastSign);
        if (st.slateAfterMs.length > 1000) st.slateAfterMs.shift();
        const stages = { lastFedAt: inp.lastFedAt, lastPictureAt: inp.latestAt, composedAt: now, publishedAt: undefined };
        slates.push(stages);
        st.stallStages.push(stages);
        if (st.stallStages.length > STALLS_KEPT) st.stallStages.shift();
      }
      this.stalled[slot.input] = !fresh;
      if (!fresh) st.slateFrames++;
      drawInto(c, fresh ? inp.latest! : this.slate, slot);
    }
    const main = this.inputs[this.spec.main]!;
    const mainFresh = !this.stalled[this.spec.main];
    const times: FrameTimes = { composedAt: now, ...(slates.length ? { slates } : {}), fedAt: mainFresh ? main.latestTimes?.fedAt : undefined, capture: mainFresh ? main.latestTimes?.captureTime : undefined };
    // Audio: this frame's share of samples (fractional rates carried over), silence for a missing input.
    const exact = SAMPLE_RATE / this.spec.fps + this.audioCarry;
    const samples = Math.floor(exact);
    this.audioCarry = exact - samples;
    const out = new Int16Array(samples * 2);
    mixAudio(out, this.inputs.map((inp, i) => ({ samples: inp.takeAudio(samples), gain: this.spec.inputs[i]!.gain })));
    this.stats.frames++;
    const enc = this.encoder;
    if (!enc) return;
    const stdin = enc.proc.child.stdin!;
    if (stdin.writableLength > MAX_QUEUED_FRAMES * pictureBytes(c.width, c.height)) {
      this.stats.encoderBehind++;
      return;
    }
    enc.times.set(enc.written++, times);
    if (enc.times.size > TIMES_KEPT) enc.times.delete(enc.times.keys().next().value!);
    stdin.write(Buffer.from(c.data));
    enc.audio.write(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  }

  private startEncoder(): void {
    const s = this.spec;
    const gop = String(s.fps * 2);
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error',
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${s.width}x${s.height}`, '-framerate', String(s.fps), '-thread_queue_size', '64', '-probesize', '32', '-analyzeduration', '0', '-i', 'pipe:0',
      // Raw inputs need no probing; ffmpeg's default would wait for 5 MB (26 s) of audio first.
      '-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', '2', '-thread_queue_size', '64', '-probesize', '32', '-analyzeduration', '0', '-i', 'pipe:3',
      '-map', '0:v', '-map', '1:a',
      '-c:v', 'libx264', '-preset', s.preset, '-tune', 'zerolatency', '-bf', '0', '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
      '-b:v', `${s.kbps}k`, '-maxrate', `${s.kbps}k`, '-bufsize', `${Math.round(s.kbps / 2)}k`,
      '-c:a', 'aac', '-b:a', '128k', '-flush_packets', '1', '-flvflags', 'no_duration_filesize', '-f', 'flv', 'pipe:1'];
    const proc = new FfmpegProcess({ ffmpeg: this.deps.ffmpeg, args, stdin: true, stdout: true, extraPipes: 1 });
    const enc: Encoder = { proc, publisher: undefined, written: 0, times: new Map(), audio: proc.pipe(3) as Writable };
    this.encoder = enc;
    if (this.stats.frames > 0 && this.state !== 'starting') this.restarts++;
    const [app, key] = s.output.split('/') as [string, string];
    const pub = new PipePublisher(this.deps.registry.app(app).stream(key), proc.child.stdout!, {
      stamp: (f) => this.stamp(enc, f),
      onFirstFrame: () => {
        this.backoff.reset();
        this.state = 'running';
        this.reason = null;
      },
    });
    try {
      pub.start();
      enc.publisher = pub;
    } catch (err) {
      if (!(err instanceof PublishRefusedError)) throw err;
      this.state = 'failed';
      this.reason = `output refused: ${err.message}`;
      void proc.stop();
      this.encoderRetryAt = Infinity;
      this.encoder = undefined;
      return;
    }
    proc.exited.then((exit) => {
      if (this.encoder !== enc) return;
      this.encoder = undefined;
      enc.publisher?.close();
      if (this.closed) return;
      const delay = this.backoff.take();
      this.encoderRetryAt = Date.now() + delay;
      this.state = 'restarting';
      this.reason = `encoder: ${exit.lastError || `exited (${exit.signal ?? exit.code})`}; restarting in ${delay} ms`;
      this.deps.logger.warn({ job: this.id, reason: this.reason }, 'mix encoder died');
    });
  }

  /** An output frame's capture time: that of the main input's picture it showed (compose time for a slate). */
  private stamp(enc: Encoder, f: MediaFrame): void {
    const t = enc.times.get(Math.round((f.pts * this.spec.fps) / 1000));
    if (!t) return;
    if (f.kind === 'video' && t.slates) for (const s of t.slates) s.publishedAt ??= Date.now();
    f.captureTime = t.capture ?? t.composedAt;
    if (f.kind === 'video' && t.fedAt !== undefined) {
      const d = Date.now() - t.fedAt;
      this.delayMs = this.delayMs === undefined ? d : 0.9 * this.delayMs + 0.1 * d;
    }
  }
}
