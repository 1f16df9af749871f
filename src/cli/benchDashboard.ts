import type { Command } from 'commander';
import { benchCommand, num } from './options.js';

/** `tributary bench dashboard`: /dashboard's load-and-draw time in Chromium with many live streams and a full history. */
export function registerBenchDashboard(program: Command): void {
  benchCommand(program)
    .command('dashboard')
    .description('load and draw time of /dashboard in Chromium with N live streams (RTMP and tributary send) and a full history')
    .option('--streams <n>', 'live streams', num, 50)
    .option('--transport <n>', 'of them published with tributary send (the others RTMP)', num, 10)
    .option('--samples <n>', 'history to fill before loading (at most the sampler capacity, 600)', num, 600)
    .option('--sample-ms <ms>', 'sampling interval while filling', num, 10)
    .option('--loads <n>', 'page loads measured (after one cold load)', num, 5)
    .option('--bitrate <mbps>', 'bitrate of each RTMP stream', num, 0.5)
    .option('--json', 'end with one JSON line', false)
    .action(async (o) => {
      const { runDashboardBench, formatDashboardBench } = await import('../bench/dashboard/run.js');
      const r = await runDashboardBench(o);
      console.log(formatDashboardBench(r));
      if (o.json) console.log(JSON.stringify(r));
    });
}
