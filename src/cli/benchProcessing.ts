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
  bench
    .command('lipsync')
    .description("the mix's audio/video offset: a host whose picture flashes as its sound beeps, mixed with a guest; ffprobe reads both recordings")
    .option('--seconds <n>', 'recorded seconds', num, 12)
    .option('--fps <n>', 'frame rate', num, 30)
    .option('--drop <input>', "stop one input's encoder now and then while recording: none, host or guest", 'none')
    .option('--drop-ms <ms>', 'how long each stop lasts', num, 500)
    .option('--drop-every <s>', 'seconds between stops', num, 3)
    .option('--verbose', 'the offsets per marker on stderr', false)
    .action(async (o) => {
      if (!['none', 'host', 'guest'].includes(o.drop)) throw new Error(`--drop: none, host or guest, not ${o.drop}`);
      o.dropEveryS = o.dropEvery;
      const { runLipSync } = await import('../bench/processing/lipSync.js');
      console.log(JSON.stringify(await runLipSync(o, o.verbose ? (l) => process.stderr.write(l + '\n') : undefined)));
      process.exit(0);
    });
  bench
    .command('ladder')
    .description("a server-side quality ladder: a ?quality=auto HTTP-FLV viewer whose link is cut mid-stream, then hls.js in Chromium whose network is throttled the same way")
    .option('--size <WxH>', 'source picture size', '640x360')
    .option('--fps <n>', 'frame rate', num, 30)
    .option('--ladder <list>', 'renditions, best first, HEIGHT:KBPS,...', '360:1200,240:600,180:300')
    .option('--fast-kbps <n>', "the viewer's link before the cut", num, 5000)
    .option('--cut-kbps <n>', "the viewer's link after the cut", num, 800)
    .option('--before-s <s>', 'seconds before the cut', num, 8)
    .option('--after-s <s>', 'seconds after the cut', num, 15)
    .option('--players <list>', 'flv, hlsjs or both (comma-separated)', 'flv,hlsjs')
    .option('--json', 'end with one JSON line per player', false)
    .action(async (o) => {
      const players = String(o.players).split(',');
      if (players.some((p) => p !== 'flv' && p !== 'hlsjs')) throw new Error(`--players: flv, hlsjs, not ${o.players}`);
      const { runLadderBench } = await import('../bench/processing/ladderBench.js');
      const rs = await runLadderBench({ ...o, players }, (l) => process.stderr.write(l + '\n'));
      console.log(formatColumns(rs.map((r) => r.player), rs, [
        ['added delay p50, ms', (x) => String(x.addedDelayMs.p50)],
        ['down to a carried rendition, ms', (x) => String(x.switchDownMs.max)],
        ['stalls > 500 ms after the cut', (x) => String(x.stallsOnSwitch)],
        ['renditions per core', (x) => String(x.renditionsPerCore)],
      ]));
      if (o.json) for (const r of rs) console.log(JSON.stringify(r));
      process.exit(0);
    });
}
