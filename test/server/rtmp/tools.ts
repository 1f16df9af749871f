import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Stream } from '../../../src/server/Stream.js';

/** Fails (never skips) when a program the test needs is missing. */
export function requireProgram(name: string): void {
  const r = spawnSync(name, ['-version'], { stdio: 'ignore' });
  if (r.error) throw new Error(`${name} is required for this test (apt-get install -y ffmpeg): ${r.error.message}`);
}

export interface Proc {
  child: ChildProcess;
  /** The last 4 KB of stderr. */
  stderr(): string;
  exited: Promise<number | null>;
}

export function run(cmd: string, args: string[]): Proc {
  requireProgram(cmd);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

/** ffmpeg pushing testsrc2 + sine as H.264/AAC over RTMP in real time (the brief's command line). */
export function publish(url: string, seconds = 20): Proc {
  return run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30',
    '-c:a', 'aac', '-f', 'flv', url,
  ]);
}

export async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGINT');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 3000);
  await p.exited;
  clearTimeout(t);
}

/** Resolves when the stream has taken `n` frames (events, no polling). */
export function framesIn(stream: Stream, n: number, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const t = setTimeout(() => {
      stream.off('frame', onFrame);
      reject(new Error(`stream ${stream.path} got ${seen} of ${n} frames in ${timeoutMs} ms`));
    }, timeoutMs);
    const onFrame = (): void => {
      if (++seen < n) return;
      clearTimeout(t);
      stream.off('frame', onFrame);
      resolve();
    };
    stream.on('frame', onFrame);
  });
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

export { once };
