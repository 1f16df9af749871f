import { Command, Option } from 'commander';
import { DEFAULTS, type BenchOptions } from '../bench/transport/Options.js';
import { benchTransport } from '../bench/transport/benchTransport.js';
import { formatTable } from '../bench/transport/Report.js';
import { benchCommand, num } from './options.js';

/** Adds `bench` with its subcommands to the CLI. Returns the `bench` command so others can add theirs. */
export function registerBench(program: Command): Command {
  const bench = benchCommand(program);
  bench
    .command('transport')
    .description('live media through the link emulator: tributary vs SRT, judged as a decoder would')
    .option('--trace <file>', 'Mahimahi trace: a path or a name in ../shared/traces')
    .option('--rate <mbps>', 'link rate, Mbit/s', num)
    .option('--rtt <ms>', 'round-trip propagation delay', num, DEFAULTS.rtt)
    .option('--jitter <ms>', 'delay jitter (std dev), ms', num, DEFAULTS.jitter)
    .option('--loss <pct>', 'random loss, percent', num, DEFAULTS.loss)
    .option('--burst <len>', 'mean loss burst length (Gilbert-Elliott)', num, DEFAULTS.burst)
    .option('--bitrate <mbps>', 'media bitrate', num, DEFAULTS.bitrate)
    .option('--latency <ms>', 'deadline from capture', num, DEFAULTS.latency)
    .option('--duration <s>', 'seconds of media', num, DEFAULTS.duration)
    .option('--seed <n>', 'random seed', num, DEFAULTS.seed)
    .option('--trace-offset <s>', 'where in the trace to start', num, DEFAULTS.traceOffset)
    .option('--queue <bytes>', 'bottleneck drop-tail queue (default ~1 s of capacity)', num)
    .option('--reaction <ms>', 'encoder reaction delay with --adaptive', num, DEFAULTS.reaction)
    .option('--adaptive', 'the source follows the target bitrate', false)
    .option('--clairvoyant <share>', "with --adaptive, virtual time: the encoder is told this share of the least capacity the link will offer over the second after its reaction delay, not the controller's target (what the send path does with a perfect estimate)", num)
    .option('--nonref <fraction>', 'fraction of non-reference video frames', num, DEFAULTS.nonref)
    .option('--real', 'real sockets and real time', false)
    .addOption(new Option('--impl <impl>', 'implementation').choices(['tributary', 'srt', 'both']).default('tributary'))
    .addOption(new Option('--cc <name>', "tributary's congestion controller ('both': one run of each)").choices(['delay', 'capacity', 'both']).default(DEFAULTS.cc))
    .option('--json', 'end with one JSON line per implementation', false)
    .action(async (raw: Partial<BenchOptions>) => {
      const o: BenchOptions = { ...DEFAULTS, ...raw } as BenchOptions;
      const results = await benchTransport(o);
      console.log(formatTable(results));
      if (o.json) for (const r of results) console.log(JSON.stringify(r));
    });
  bench
    .command('core')
    .description('transport core throughput: datagrams per second through a session pair in virtual time, one thread, per encryption mode')
    .option('--seconds <s>', 'seconds of virtual time', num, 5)
    .option('--json', 'end with one JSON line per mode', false)
    .action(async (o: { seconds: number; json: boolean }) => {
      const { benchCore } = await import('../bench/core/coreThroughput.js');
      const results = benchCore(o.seconds);
      for (const r of results) console.log(`${r.mode.padEnd(8)} ${r.datagrams} datagrams in ${r.wallMs} ms = ${r.packetsPerSecond} datagrams/s (${r.delivered} messages delivered)`);
      if (o.json) for (const r of results) console.log(JSON.stringify({ impl: 'tributary-core', ...r }));
    });
  return bench;
}
