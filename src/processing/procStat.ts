import { readFileSync } from 'node:fs';

/**
 * CPU time of a process from /proc/PID/stat (Linux): utime + stime, fields 14 and 15, in
 * clock ticks. The command name (field 2) may hold spaces and parentheses, so fields are
 * counted from the last ')'. USER_HZ is 100 on every Linux build Node runs on.
 */
const TICKS_PER_SECOND = 100;

/** Seconds of CPU the process used so far; undefined when it is gone or /proc is missing. */
export function cpuSeconds(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  return parseCpuSeconds(text);
}

export function parseCpuSeconds(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")": field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
  const f = stat.slice(close + 2).split(' ');
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / TICKS_PER_SECOND;
}

/**
 * Share of one core a process used between two samples (1 = a whole core). Sampled by the
 * caller, so the figure covers whatever interval it chooses (the API reads it on demand).
 */
export class CpuMeter {
  private last: { at: number; cpu: number } | undefined;
  private share = 0;

  sample(pid: number | undefined, now: number): number {
    const cpu = pid === undefined ? undefined : cpuSeconds(pid);
    if (cpu === undefined) {
      this.last = undefined;
      return (this.share = 0);
    }
    const l = this.last;
    // Shorter intervals than this are mostly tick rounding: keep the previous figure.
    if (l && now - l.at >= 500) {
      this.share = Math.max(0, (cpu - l.cpu) / ((now - l.at) / 1000));
      this.last = { at: now, cpu };
    } else if (!l) this.last = { at: now, cpu };
    return this.share;
  }
}
