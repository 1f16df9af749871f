import type { Command } from 'commander';
import { benchCommand, num } from './options.js';

/** `tributary bench soak`: publishers, viewers and attackers against one server for an hour. */
export function registerBenchSoak(program: Command): void {
  const bench = benchCommand(program);
  bench
    .command('soak')
    .description('soak and attack: publishers (some restarting), viewers across protocols (keeping up, slow, dead, churning) and hostile clients against one server; RSS, event-loop delay, frames lost')
    .option('--duration <s>', 'seconds', num, 3600)
    .option('--publishers <n>', 'RTMP publishers (a fifth restart)', num, 20)
    .option('--viewers <n>', 'viewers in all', num, 1000)
    .option('--bitrate <mbps>', 'per publisher', num, 0.25)
    .option('--restart-every <s>', 'seconds between a restarting publisher\'s restarts', num, 60)
    .option('--warmup <s>', 'seconds before RSS counts', num, 60)
    .option('--sample <s>', 'seconds between samples', num, 10)
    .option('--no-hostile', 'leave the hostile clients out')
    .option('--seed <n>', 'random seed of the synthetic sources', num, 1)
    .option('--json', 'end with one JSON line', false)
    .action(async (raw) => {
      const { runSoak, formatSoak, SOAK_DEFAULTS } = await import('../bench/soak/run.js');
      const r = await runSoak({ ...SOAK_DEFAULTS, ...raw });
      console.log(formatSoak(r));
      if (raw.json) console.log(JSON.stringify(r));
      process.exit(r.serverExit ? 1 : 0);
    });
}
