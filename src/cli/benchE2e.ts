import { Option, type Command } from 'commander';
import { CC_NAMES } from '../transport/cc/select.js';
import { benchCommand, num } from './options.js';

/** `tributary bench e2e`: sender -> emulated link -> server -> HTTP-FLV and `tributary play` viewers. */
export function registerBenchE2e(program: Command): void {
  const bench = benchCommand(program);
  bench
    .command('e2e')
    .description('the contribution path on loopback in real time: synthetic source -> tributary send -> link emulator -> server -> HTTP-FLV and tributary play viewers')
    .option('--trace <file>', 'Mahimahi trace: a path or a name in ../shared/traces')
    .option('--rate <mbps>', 'link rate, Mbit/s', num)
    .option('--rtt <ms>', 'round-trip propagation delay', num, 0)
    .option('--jitter <ms>', 'delay jitter (std dev), ms', num, 0)
    .option('--loss <pct>', 'random loss, percent', num, 0)
    .option('--burst <len>', 'mean loss burst length', num, 1)
    .option('--bitrate <mbps>', 'media bitrate', num, 1.2)
    .option('--latency <ms>', 'delivery deadline from capture', num, 600)
    .option('--duration <s>', 'measured seconds', num, 20)
    .option('--seed <n>', 'random seed', num, 1)
    .option('--trace-offset <s>', 'where in the trace to start', num, 0)
    .option('--json', 'end with one JSON line per viewer output', false)
    .option('--encode', 'the real encoder instead of the synthetic source: tributary send --encode (ffmpeg x264 ladder following the target) to an ffmpeg viewer decoding HTTP-FLV', false)
    .option('--link <trace|mbps>', 'with --encode: one bonded link (a trace, or a rate in Mbit/s); repeat for several, each with --rtt/--loss', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--ladder <kbps>', 'with --encode: the renditions\' video bitrates, kbit/s', (v: string) => v.split(',').map(Number))
    .option('--fps <n>', 'with --encode: frame rate', num, 30)
    .option('--size <WxH>', 'with --encode: picture size', '640x360')
    .addOption(new Option('--cc <name>', 'with --encode: the congestion controller (default the session\'s delay/loss one)').choices([...CC_NAMES]))
    .option('--verbose', 'with --encode: the target, sending rate and rung each second on stderr', false)
    .action(async (o) => {
      if (o.encode) {
        if (o.link.length && (o.trace || o.rate !== undefined)) throw new Error('give --link (each link) or --trace/--rate (one link), not both');
        const { runE2eEncode, formatE2eEncode } = await import('../bench/e2e/encodeRun.js');
        const r = await runE2eEncode(o);
        console.log(formatE2eEncode(r));
        if (o.json) console.log(JSON.stringify(r));
        process.exit(0);
      }
      const { runE2e, formatE2e } = await import('../bench/e2e/run.js');
      const results = await runE2e(o);
      console.log(formatE2e(results));
      if (o.json) for (const r of results) console.log(JSON.stringify(r));
      process.exit(0);
    });
}
