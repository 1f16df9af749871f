import type { MediaFrame } from '../media/frame.js';
import type { Logger } from '../server/log.js';
import type { Registry } from '../server/Registry.js';
import { PublishRefusedError, type Stream } from '../server/Stream.js';
import { FfmpegProcess } from './FfmpegProcess.js';
import { issuesOf, TranscodePatch, TranscodeSpec, type TranscodeSpecInput } from './JobSpec.js';
import { PipePublisher } from './PipePublisher.js';
import { ApiError, Backoff, type JobInfo, type JobState, type ProcessingJob } from './ProcessingJob.js';
import { StreamFeed } from './StreamFeed.js';
import { transcodeArgs } from './transcodeArgs.js';

export interface JobDeps {
  registry: Registry;
  logger: Logger;
  /** Program to run (default 'ffmpeg'). */
  ffmpeg?: string;
  /** A process with no output frame this long after it started is killed as hung, ms. Default 15000. */
  firstFrameTimeoutMs?: number;
}

/** A process that produced nothing this many times in a row is given up (a bad input, not a crash). */
const FRUITLESS_STARTS = 4;

/** One running process and what is attached to it. */
interface Run {
  proc: FfmpegProcess;
  feed: StreamFeed | undefined;
  publishers: PipePublisher[];
  produced: boolean;
  watchdog: NodeJS.Timeout;
}

/**
 * A transcode job: an input (a stream of the server, or a file/URL) through one ffmpeg to one
 * or more outputs published as ordinary streams (a quality ladder is several outputs with
 * aligned keyframes, see transcodeArgs).
 *
 * Life: a process that dies is restarted with backoff (the outputs' viewers stay through the
 * App's grace and continue on one timeline); one that never produced a frame FRUITLESS_STARTS
 * times in a row is a bad input and the job fails with ffmpeg's last error line. An input
 * stream that ends puts the job in 'waiting' (the manager restarts it when the stream is live
 * again); a file played once ends it.
 */
export class TranscodeJob implements ProcessingJob {
  readonly kind: 'transcode' | 'ladder';
  spec: TranscodeSpec;
  state: JobState = 'waiting';
  reason: string | null = null;
  restarts = 0;
  private starts = 0;
  private fruitless = 0;
  private run: Run | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff();
  private delayMs: number | undefined;
  private lastCpu = 0;
  private closed = false;
  private readonly startedAt = new Date();
  private readonly log: Logger;

  constructor(
    readonly id: string,
    spec: TranscodeSpec,
    private readonly deps: JobDeps,
    kind: 'transcode' | 'ladder' = 'transcode',
  ) {
    this.spec = spec;
    this.kind = kind;
    this.log = deps.logger.child({ job: id });
  }

  static parse(body: unknown): TranscodeSpec {
    const r = TranscodeSpec.safeParse(body);
    if (!r.success) throw new ApiError(400, 'invalid job spec', issuesOf(r.error));
    return r.data;
  }

  get outputs(): string[] {
    return this.spec.outputs.map((o) => o.stream);
  }

  get inputStreams(): string[] {
    return 'stream' in this.spec.input ? [this.spec.input.stream] : [];
  }

  /** The input stream when it is live now. */
  inputStream(): Stream | undefined {
    if (!('stream' in this.spec.input)) return undefined;
    const [app, key] = this.spec.input.stream.split('/') as [string, string];
    const s = this.deps.registry.find(app, key);
    return s?.isLive ? s : undefined;
  }

  start(): void {
    if (this.closed || this.run || this.timer) return;
    if ('stream' in this.spec.input && !this.inputStream()) return this.set('waiting', `input ${this.spec.input.stream} is not live`);
    this.spawn();
  }

  patch(body: unknown): void {
    const r = TranscodePatch.safeParse(body);
    if (!r.success) throw new ApiError(400, 'invalid job patch', issuesOf(r.error));
    if (r.data.outputs && r.data.outputs.map((o) => o.stream).join() !== this.outputs.join()) {
      throw new ApiError(422, 'a patch may change the outputs\' sizes and rates, not their stream names (make a new job)');
    }
    this.spec = { ...this.spec, ...r.data };
    this.log.info({ patch: r.data }, 'job changed: restarting its process');
    this.fruitless = 0;
    void this.stopRun().then(() => this.start());
  }

  info(now = Date.now()): JobInfo {
    if (this.run) this.lastCpu = this.run.proc.cpuShare(now);
    return {
      id: this.id, kind: this.kind, state: this.state, reason: this.reason, restarts: this.restarts,
      cpu: Math.round((this.run ? this.lastCpu : 0) * 1000) / 1000,
      delayMs: this.delayMs === undefined ? null : Math.round(this.delayMs),
      inputs: 'stream' in this.spec.input ? [this.spec.input.stream] : [this.spec.input.url],
      outputs: this.outputs, startedAt: this.startedAt.toISOString(), spec: this.spec,
    };
  }

  /** The running ffmpeg (tests kill it to see the restart). */
  get process(): FfmpegProcess | undefined {
    return this.run?.proc;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.stopRun();
    this.set('stopped', 'stopped');
  }

  private set(state: JobState, reason: string | null): void {
    if (this.state !== state || this.reason !== reason) this.log.info({ state, reason }, `job ${state}`);
    this.state = state;
    this.reason = reason;
  }

  private spawn(): void {
    const input = this.inputStream();
    const copyAudio = input?.audioConfig?.codec === 'aac';
    const proc = new FfmpegProcess({
      ffmpeg: this.deps.ffmpeg, args: transcodeArgs({ ...this.spec, copyAudio }),
      stdin: input !== undefined, extraPipes: this.spec.outputs.length,
    });
    if (this.starts++ > 0) this.restarts++;
    this.set('starting', null);
    const timeout = this.deps.firstFrameTimeoutMs ?? 15_000;
    const run: Run = {
      proc, feed: undefined, publishers: [], produced: false,
      watchdog: setTimeout(() => {
        if (!run.produced) {
          this.reason = `no output within ${timeout} ms`;
          proc.child.kill('SIGKILL');
        }
      }, timeout),
    };
    this.run = run;
    proc.exited.then((exit) => this.exited(run, exit.code, exit.signal, exit.lastError));
    try {
      for (let i = 0; i < this.spec.outputs.length; i++) {
        const [app, key] = this.spec.outputs[i]!.stream.split('/') as [string, string];
        const pub = new PipePublisher(this.deps.registry.app(app).stream(key), proc.pipe(3 + i) as never, {
          stamp: (f) => this.stamp(run, f),
          onBroken: (why) => {
            this.reason = why;
            proc.child.kill('SIGKILL');
          },
          onFirstFrame: () => {
            if (run.produced) return;
            run.produced = true;
            this.fruitless = 0;
            this.backoff.reset();
            if (this.run === run) this.set('running', null);
          },
        });
        pub.start();
        run.publishers.push(pub);
      }
    } catch (err) {
      if (!(err instanceof PublishRefusedError)) throw err;
      this.reason = `output refused: ${err.message}`;
      this.fail(run);
      return;
    }
    if (input) {
      const stdin = proc.child.stdin!;
      run.feed = new StreamFeed(input, stdin);
      run.feed.onClosed = (why) => {
        if (this.run !== run) return;
        const ended = this.inputStream() !== input;
        this.reason = ended ? `input ${input.path} ended` : `input feed cut: ${why}`;
        if (ended) this.fruitless = -Infinity; // not the process's fault: no backoff count
        proc.child.kill('SIGKILL');
      };
    }
  }

  /** An output frame: its input's capture time, and the job's delay from the input's pts. */
  private stamp(run: Run, frame: MediaFrame): void {
    const now = Date.now();
    if (frame.kind === 'video') {
      const t = run.feed?.fedTimes(frame.pts);
      if (t) {
        frame.captureTime = t.captureTime ?? t.fedAt;
        const d = now - t.fedAt;
        this.delayMs = this.delayMs === undefined ? d : 0.9 * this.delayMs + 0.1 * d;
      }
    } else if (run.feed && this.delayMs !== undefined) {
      frame.captureTime = now - this.delayMs;
    }
  }

  private fail(run: Run): void {
    run.proc.child.kill('SIGKILL');
    this.fruitless = FRUITLESS_STARTS;
  }

  private async stopRun(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.detach(run);
    await run.proc.stop();
  }

  private detach(run: Run): void {
    if (this.run === run) this.run = undefined;
    clearTimeout(run.watchdog);
    run.feed?.close('job process ended');
    for (const p of run.publishers) p.close();
  }

  private exited(run: Run, code: number | null, signal: NodeJS.Signals | null, lastError: string): void {
    const current = this.run === run;
    this.detach(run);
    if (!current || this.closed) return;
    const why = this.reason ?? (lastError || `ffmpeg exited (${signal ?? `code ${code}`})`);
    if (this.fruitless === -Infinity) {
      this.fruitless = 0;
      return this.set('waiting', why);
    }
    if (code === 0 && !('stream' in this.spec.input)) return this.set('ended', 'input ended');
    if (!run.produced) this.fruitless++;
    if (this.fruitless >= FRUITLESS_STARTS) return this.set('failed', why);
    const delay = this.backoff.take();
    this.set('restarting', `${why}; restarting in ${delay} ms`);
    this.log.warn({ code, signal, lastError }, 'job process died');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reason = null;
      this.start();
    }, delay);
  }
}
