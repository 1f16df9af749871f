import type { Command } from 'commander';

/** Parses a numeric option; commander reports the error with the option's name. */
export function num(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
}

/** The `bench` command, created by whichever bench file registers first. */
export function benchCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks');
}
