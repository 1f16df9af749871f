import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';

/**
 * The `tributary` command. Each subcommand lives in its own file beside this one
 * (cli/serve.ts, cli/bench.ts, ...) and exports `register(program: Command)` (or any function
 * named `register...`, e.g. registerBench); this file finds them, so adding a command means
 * adding a file. Files load in name order; a file adding a subcommand to a shared parent
 * (`bench`) should find-or-create that parent. A command's heavy imports belong inside its
 * action (dynamic import), so `tributary --help` stays fast.
 */
async function buildProgram(): Promise<Command> {
  const program = new Command('tributary')
    .description('Live video from a bad uplink to many viewers with about one second of delay')
    .showHelpAfterError();
  const here = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(here)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !/^main\.(ts|js)$/.test(f))
    .sort();
  for (const f of files) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(`${here}/${f}`).href)) as Record<string, unknown>;
    } catch (err) {
      // One broken command must not take the others (serve above all) down with it.
      process.stderr.write(`tributary: command file ${f} failed to load: ${(err as Error).message}\n`);
      continue;
    }
    for (const [name, fn] of Object.entries(mod)) {
      if (/^register([A-Z]\w*)?$/.test(name) && typeof fn === 'function') (fn as (p: Command) => unknown)(program);
    }
  }
  return program;
}

// The entry point (bin/tributary.js imports the built copy): tests spawn it as a process.
const program = await buildProgram();
await program.parseAsync(process.argv);
