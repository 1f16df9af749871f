import type { Command } from 'commander';

/** Parses a numeric option; commander reports the error with the option's name. */
export function num(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
}

/**
 * `--latency`'s text (send, play) as ms, or null when it is not a whole number in 50..60000,
 * the range a tributary:// URL's `latency=` and the hello accept.
 */
export function latencyFlag(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const ms = Number(text);
  return ms >= 50 && ms <= 60_000 ? ms : null;
}

/** The `bench` command, created by whichever bench file registers first. */
export function benchCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks');
}
