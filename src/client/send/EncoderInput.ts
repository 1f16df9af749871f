/**
 * `tributary send --encode`: the sender runs the encoder. One ffmpeg (encoderArgs.ts) encodes a
 * ladder of renditions with aligned keyframes; RenditionSwitch sends the rung that fits the
 * transport's target and moves at the next keyframe (within one GOP, a second by default).
 *
 * Why a ladder and not a new encoder per target: a live input (a camera, OBS pushing RTMP) can
 * be opened once, so a second encoder cannot be started on it in parallel; the ladder's extra
 * rungs cost little with x264 ultrafast (measured in docs/benchmarks.md), and switching needs
 * no keyframe beyond the ones the fixed GOP already makes.
 *
 * The encoder dying (killed, crashed) is restarted with a status line, with backoff; the stream
 * continues from the new process's first keyframe on the same timeline. A process that exits
 * 0 has read its input to the end; one that never produced a frame three times running is a
 * bad input, and the sender ends with its error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { DemuxOutput } from '../../media/frame.js';
import { FlvDemuxer } from '../../media/flv/FlvDemuxer.js';
import { ladderArgs, type EncoderSource, type LadderOptions } from './encoderArgs.js';
import type { MediaInput, MediaSink } from './inputs.js';
import { RenditionSwitch, type RenditionSwitchStats } from './RenditionSwitch.js';

export interface EncoderInputOptions extends LadderOptions {
  source: EncoderSource;
  /** Status lines (encoder exited, restarted). */
  log?: (line: string) => void;
  /** First restart delay, ms (default 200; doubles to 5 s while the encoder keeps failing). */
  restartDelayMs?: number;
  ffmpeg?: string;
  /** Called with each output sent and the rung of its video (-1 for audio and configs; benches and tests read it). */
  onSent?: (out: DemuxOutput, rung: number) => void;
}

export interface EncoderStatus extends RenditionSwitchStats {
  rungKbps: number[];
  bitrateBps: number;
  /** Encoder processes started, the first included. */
  starts: number;
  pid: number | undefined;
}

const FAILED_STARTS_BEFORE_GIVING_UP = 3;

export class EncoderInput implements MediaInput {
  readonly describe: string;
  private readonly switcher: RenditionSwitch;
  private proc: ChildProcess | undefined;
  private sink: MediaSink | undefined;
  private closed = false;
  private starts = 0;
  private failedStarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private delay: number;
  private stderrTail = '';

  constructor(private readonly o: EncoderInputOptions) {
    this.describe = `${o.source.describe} encoded by ffmpeg (x264 ladder ${o.ladderKbps.join('/')} kbit/s)`;
    this.switcher = new RenditionSwitch({ rungsBps: o.ladderKbps.map((k) => k * 1000), audioBps: o.audioKbps * 1000, frameMs: 1000 / o.fps });
    this.delay = o.restartDelayMs ?? 200;
  }

  get startBitrateBps(): number {
    return this.switcher.bitrateBps + this.o.audioKbps * 1000;
  }

  async start(sink: MediaSink): Promise<void> {
    this.sink = sink;
    this.spawn();
  }

  /** The transport's target, media bit/s: the rung for the next keyframe. */
  followTarget(bps: number): void {
    this.switcher.setTarget(bps);
  }

  status(): EncoderStatus {
    return { ...this.switcher.stats, rungKbps: this.o.ladderKbps, bitrateBps: this.switcher.bitrateBps, starts: this.starts, pid: this.proc?.pid };
  }

  /** The running encoder process (tests kill it). */
  get process(): ChildProcess | undefined {
    return this.proc;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(t);
    }
  }

  private spawn(): void {
    if (this.closed) return;
    const n = this.o.ladderKbps.length;
    const pipes = n + (this.o.audio === false ? 0 : 1);
    const args = ladderArgs(this.o.source, this.o);
    // Its own process group: a Ctrl-C at the terminal is for the sender, which closes the
    // encoder itself (otherwise ffmpeg dies first and looks like a crash to restart). If the
    // sender dies, ffmpeg's pipes break and it exits.
    const p = spawn(this.o.ffmpeg ?? 'ffmpeg', args, { detached: true, stdio: ['ignore', 'ignore', 'pipe', ...Array.from({ length: pipes }, () => 'pipe' as const)] });
    this.proc = p;
    this.starts++;
    if (this.starts > 1) this.switcher.restart();
    let produced = false;
    this.stderrTail = '';
    p.stderr?.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2000)));
    for (let i = 0; i < pipes; i++) {
      const pipe = p.stdio[3 + i] as Readable;
      const demuxer = new FlvDemuxer();
      pipe.on('data', (chunk: Buffer) => {
        if (this.proc !== p) return;
        let outs: DemuxOutput[];
        try {
          outs = demuxer.push(new Uint8Array(chunk));
        } catch (err) {
          // Broken FLV from our own encoder: treat as its death.
          this.o.log?.(`encoder rung ${i} sent broken FLV (${(err as Error).message}); restarting it`);
          p.kill('SIGKILL');
          return;
        }
        const now = Date.now();
        for (const o of outs) for (const s of i < n ? this.switcher.push(i, o) : this.switcher.pushAudio(o)) {
          produced ||= s.type === 'frame';
          // A push's video output is all of the rung current after it (a switch flushes the new rung).
          this.forward(s, now, s.type === 'frame' && s.frame.kind === 'video' ? this.switcher.stats.rung : -1);
        }
      });
      pipe.on('error', () => undefined);
    }
    p.on('error', (err) => this.o.log?.(`encoder: ${err.message}`));
    p.on('close', (code, signal) => this.exited(p, code, signal, produced));
  }

  private forward(out: DemuxOutput, now: number, rung: number): void {
    const sink = this.sink!;
    if (out.type === 'config') sink.config(out.config);
    else if (out.type === 'metadata') sink.metadata(out.values);
    else {
      out.frame.captureTime = now;
      sink.frame(out.frame);
    }
    this.o.onSent?.(out, rung);
  }

  private exited(p: ChildProcess, code: number | null, signal: NodeJS.Signals | null, produced: boolean): void {
    if (this.proc !== p || this.closed) return;
    this.proc = undefined;
    const why = (this.stderrTail.trim().split('\n').pop() ?? '').slice(0, 300);
    if (code === 0) return this.sink?.end('the encoder input ended');
    this.failedStarts = produced ? 0 : this.failedStarts + 1;
    if (this.failedStarts >= FAILED_STARTS_BEFORE_GIVING_UP) {
      return this.sink?.end(`the encoder failed ${this.failedStarts} times without a frame: ${why || `exit ${code ?? signal}`}`);
    }
    if (produced) this.delay = this.o.restartDelayMs ?? 200;
    this.o.log?.(`encoder exited (${signal ?? `code ${code}`}${why ? `: ${why}` : ''}); restarting in ${this.delay} ms, video resumes at its first keyframe`);
    this.restartTimer = setTimeout(() => this.spawn(), this.delay);
    this.delay = Math.min(5000, this.delay * 2);
  }
}
