import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A Mahimahi link trace: each line a time in ms, one 1500-byte delivery opportunity; a time
 * repeated means several opportunities in that ms; the trace repeats with a period of its last
 * time. See ../shared/traces/README.md.
 */
export interface Trace {
  name: string;
  /** Opportunity times within one period, non-decreasing. */
  times: Float64Array;
  periodMs: number;
}

export const TRACE_PACKET_BYTES = 1500;
const MAX_TRACE_BYTES = 64 * 1024 * 1024;

export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

export function parseTrace(name: string, text: string): Trace {
  const lines = text.split('\n');
  const times = new Float64Array(lines.length);
  let n = 0;
  let prev = 0;
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.trim();
    if (s === '') continue;
    if (!/^\d{1,12}$/.test(s)) throw new TraceError(`${name}:${i + 1}: not a time in ms: ${JSON.stringify(s.slice(0, 40))}`);
    const t = Number(s);
    if (t < prev) throw new TraceError(`${name}:${i + 1}: time goes backwards (${t} after ${prev})`);
    times[n++] = t;
    prev = t;
  }
  if (n === 0) throw new TraceError(`${name}: empty trace`);
  if (prev <= 0) throw new TraceError(`${name}: trace period is 0 ms`);
  return { name, times: times.slice(0, n), periodMs: prev };
}

/** Mean capacity in bits per second. */
export function traceMeanBps(t: Trace): number {
  return (t.times.length * TRACE_PACKET_BYTES * 8 * 1000) / t.periodMs;
}

/** The repository root: the nearest ancestor of this file holding package.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new TraceError('cannot find the project root (no package.json above the emulator)');
    dir = up;
  }
}

export function tracesDir(): string {
  return resolve(projectRoot(), '..', 'shared', 'traces');
}

/** A path (absolute or relative to cwd), or a bare file name looked up in ../shared/traces. */
export function resolveTracePath(nameOrPath: string): string {
  if (isAbsolute(nameOrPath) || nameOrPath.includes('/')) {
    const p = resolve(nameOrPath);
    if (!existsSync(p)) throw new TraceError(`trace file not found: ${p}`);
    return p;
  }
  if (existsSync(nameOrPath) && statSync(nameOrPath).isFile()) return resolve(nameOrPath);
  const p = join(tracesDir(), nameOrPath);
  if (!existsSync(p)) throw new TraceError(`trace not found: ${nameOrPath} (not a file here, nor in ${tracesDir()})`);
  return p;
}

export function loadTrace(nameOrPath: string): Trace {
  const p = resolveTracePath(nameOrPath);
  if (statSync(p).size > MAX_TRACE_BYTES) throw new TraceError(`trace file too large: ${p}`);
  return parseTrace(nameOrPath, readFileSync(p, 'utf8'));
}
