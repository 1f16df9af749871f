import { Option, type Command } from 'commander';
import { benchCommand, num } from './options.js';

/** `tributary bench fanout`: one RTMP publisher, N HTTP-FLV viewers; tributary vs Node-Media-Server. */
export function registerBenchFanout(program: Command): void {
  const bench = benchCommand(program);
  bench
    .command('fanout')
    .description('one RTMP publisher, many HTTP-FLV viewers on loopback: delay, join time, server CPU and memory; tributary vs node-media-server')
    .addOption(new Option('--impl <impl>', 'server').choices(['tributary', 'nms', 'both']).default('both'))
    .option('--viewers <n>', 'HTTP-FLV viewers', num, 100)
    .option('--bitrate <mbps>', 'stream bitrate', num, 2)
    .option('--duration <s>', 'measured seconds', num, 20)
    .option('--seed <n>', 'random seed of the synthetic source', num, 1)
    .option('--server-config <file>', 'tributary: a config file for its `serve` (--config), e.g. to compare a setting')
    .option('--json', 'end with one JSON line per implementation', false)
    .action(async (o) => {
      const { runFanout, formatFanout } = await import('../bench/fanout/run.js');
      const results = await runFanout(o);
      console.log(formatFanout(results));
      if (o.json) for (const r of results) console.log(JSON.stringify(r));
    });
}
