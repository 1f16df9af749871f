import { spawn, type ChildProcess } from 'node:child_process';

/** Input an ffmpeg that stopped reading may hold here before input is dropped (and counted). */
const MAX_STDIN_BYTES = 512 << 10;

/**
 * One ffmpeg process fed on stdin and read on stdout. A real encoder, not a library: the
 * transcoders below start one per stream that needs it. Its stderr's tail is kept for the
 * error message; `close()` is idempotent and kills the process.
 */
export class FfmpegPipe {
  private readonly proc: ChildProcess;
  private stderr = '';
  private closed = false;
  droppedInputBytes = 0;
  onData: ((chunk: Buffer) => void) | undefined;
  onExit: ((reason: string) => void) | undefined;

  constructor(args: string[], program = 'ffmpeg') {
    this.proc = spawn(program, ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdin!.on('error', () => undefined); // EPIPE once ffmpeg exits: reported by 'exit'
    this.proc.stdout!.on('data', (d: Buffer) => this.onData?.(d));
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-1000)));
    this.proc.on('error', (err) => this.exited(`${program} could not start: ${err.message}`));
    this.proc.on('exit', (code, signal) => this.exited(`${program} exited (${signal ?? code}): ${this.stderr.trim()}`));
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  write(chunk: Uint8Array): void {
    if (this.closed) return;
    const stdin = this.proc.stdin!;
    if (stdin.writableLength > MAX_STDIN_BYTES) {
      this.droppedInputBytes += chunk.length;
      return;
    }
    stdin.write(chunk);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onData = undefined;
    this.proc.stdin!.destroy();
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }

  /** Resolves once the process is gone (for tests and shutdown). */
  exited$(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve();
    return new Promise((r) => this.proc.once('exit', () => r()));
  }

  private exited(reason: string): void {
    const wasClosed = this.closed;
    this.closed = true;
    if (!wasClosed) this.onExit?.(reason);
  }
}

/** Low-delay input flags: no probing beyond the first packet, no input buffering. */
export const LOW_DELAY_INPUT = ['-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0'];
