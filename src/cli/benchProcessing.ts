import type { Command } from 'commander';
import { formatColumns } from '../bench/table.js';
import { benchCommand, num } from './options.js';

/** `tributary bench mix` and `tributary bench ladder` (src/bench/processing/). */
export function registerBenchProcessing(program: Command): void {
  const bench = benchCommand(program);
  bench
    .command('mix')
    .description('a two-input picture-in-picture mix by a real server, its guest input stopped and resumed; an ffmpeg viewer decodes the result')
    .option('--size <WxH>', 'inputs and mix picture size', '1280x720')
    .option('--fps <n>', 'frame rate', num, 30)
    .option('--cycles <n>', 'input drop/return cycles', num, 100)
    .option('--drop-ms <ms>', 'how long each drop lasts', num, 1000)
    .option('--back-ms <ms>', 'how long the input is back between drops', num, 700)
    .option('--kbps <n>', 'mix video bitrate', num, 2500)
    .option('--stall-ms <ms>', "the mix's stallMs (no new picture this long: slate)", num, 250)
    .option('--verbose', 'a line per cycle on stderr', false)
    .option('--json', 'end with one JSON line', false)
    .action(async (o) => {
      const { runMixBench } = await import('../bench/processing/mixBench.js');
      const r = await runMixBench(o, o.verbose ? (l) => process.stderr.write(l + '\n') : undefined);
      console.log(formatColumns(['mix'], [r], [
        ['added delay p50 / p95, ms', (x) => `${x.addedDelayMs.p50} / ${x.addedDelayMs.p95}`],
        ['slate after stall, max ms', (x) => String(x.slateAfterMs.max)],
        ['output gaps > 100 ms', (x) => String(x.outputGaps)],
        ['drop/return cycles', (x) => String(x.dropCycles)],
        ['mixes per core', (x) => String(x.mixesPerCore)],
      ]));
      if (o.json) console.log(JSON.stringify(r));
      process.exit(0);
    });
}
