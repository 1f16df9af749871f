import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system) used so far by a process and all its descendants, from /proc
 * (Linux; clock ticks of 1/100 s). A browser's page work is spread over its renderer, GPU and
 * network processes; their CPU time, unlike wall time, does not grow with the machine's load.
 */
export function treeCpuSeconds(root: number): number {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone between the listing and the read
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(name), Number(f[1]));
    cpu.set(Number(name), (Number(f[11]) + Number(f[12])) / 100);
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = parent.get(p), hops++) {
      if (p === root) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}

/** The oldest process whose command line holds `marker` (a browser's own profile folder), if any. */
export function findProcess(marker: string): number | undefined {
  let found: number | undefined;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker) && (found === undefined || Number(name) < found)) found = Number(name);
    } catch {
      // gone
    }
  }
  return found;
}
