import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { CpuMeter } from './procStat.js';

export interface FfmpegOptions {
  /** Program to run (default 'ffmpeg', the Debian package). */
  ffmpeg?: string;
  /** Arguments, as an array: nothing goes through a shell. */
  args: string[];
  /** Extra pipes after stdio 0-2 (fd 3, 4, ...). */
  extraPipes?: number;
  /** stdin as a pipe (frames fed by the job) instead of /dev/null. */
  stdin?: boolean;
  /** stdout as a pipe (an output on pipe:1). */
  stdout?: boolean;
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last line ffmpeg printed on stderr: the reason a job shows. */
  lastError: string;
}

/**
 * One ffmpeg process: spawned with an argument array, its pipes, the tail of its stderr, its
 * CPU share (/proc/PID/stat), and a stop that always ends it (SIGTERM, then SIGKILL after 2 s).
 * `exited` resolves once, when the process is gone and its pipes are closed.
 */
export class FfmpegProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<FfmpegExit>;
  readonly startedAt = Date.now();
  private stderrTail = '';
  private readonly cpu = new CpuMeter();
  private done = false;

  constructor(o: FfmpegOptions) {
    const extra = Array.from({ length: o.extraPipes ?? 0 }, () => 'pipe' as const);
    // Its own process group so a Ctrl-C at the server's terminal reaches the server, which then
    // stops its jobs in order, instead of killing ffmpeg first (which would look like a crash).
    this.child = spawn(o.ffmpeg ?? 'ffmpeg', o.args, { detached: true, stdio: [o.stdin ? 'pipe' : 'ignore', o.stdout ? 'pipe' : 'ignore', 'pipe', ...extra] });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000)));
    // A write after ffmpeg died is EPIPE on its stdin: the exit handler reports the death.
    this.child.stdin?.on('error', () => undefined);
    for (let i = 3; i < 3 + (o.extraPipes ?? 0); i++) (this.child.stdio[i] as Readable | Writable | null)?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      let spawnError = '';
      this.child.once('error', (err) => {
        spawnError = `${o.ffmpeg ?? 'ffmpeg'}: ${err.message}`;
        // 'close' does not follow a failed spawn on every Node version.
        if (this.child.pid === undefined) finish(null, null);
      });
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.done) return;
        this.done = true;
        resolve({ code, signal, lastError: spawnError || lastLine(this.stderrTail) });
      };
      this.child.once('close', finish);
    });
  }

  get pid(): number | undefined {
    return this.done ? undefined : this.child.pid;
  }

  get running(): boolean {
    return !this.done;
  }

  pipe(fd: number): Readable | Writable {
    return this.child.stdio[fd] as Readable | Writable;
  }

  /** Share of one core used since the previous call (at least 0.5 s apart). */
  cpuShare(now = Date.now()): number {
    return this.cpu.sample(this.pid, now);
  }

  /** Ends the process; resolves when it is gone. Idempotent. */
  async stop(): Promise<void> {
    if (this.done) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(t);
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}
