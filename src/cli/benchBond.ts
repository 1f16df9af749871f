import { Option, type Command } from 'commander';
import { BOND_MODES } from '../transport/index.js';
import { SCHEDULERS } from '../transport/scheduler/Scheduler.js';
import { CC_NAMES } from '../transport/cc/select.js';
import { BOND_DEFAULTS, type BondBenchOptions } from '../bench/bond/Options.js';
import { benchCommand, num } from './options.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** `tributary bench bond`: one stream over several emulated links, against the best single link. */
export function registerBenchBond(program: Command): void {
  const d = BOND_DEFAULTS;
  benchCommand(program)
    .command('bond')
    .description('bonding (virtual time, or --real): one stream over N emulated links (aggregate, redundant or auto) vs the best single link, judged against an oracle over all links')
    .option('--links <n>', 'number of links', num, d.links)
    .option('--trace <files>', 'Mahimahi traces, comma-separated (one per link, or one for all)')
    .option('--rate <mbps>', 'link rates, Mbit/s, comma-separated')
    .option('--rtt <ms>', 'round-trip delays, comma-separated', d.rtt)
    .option('--jitter <ms>', 'delay jitter, comma-separated', d.jitter)
    .option('--loss <pct>', 'random loss percent, comma-separated', d.loss)
    .option('--burst <len>', 'mean loss burst lengths, comma-separated', d.burst)
    .option('--bitrate <mbps>', 'media bitrate', num, d.bitrate)
    .option('--latency <ms>', 'deadline from capture', num, d.latency)
    .option('--duration <s>', 'seconds of media', num, d.duration)
    .option('--seed <n>', 'random seed', num, d.seed)
    .addOption(new Option('--bond <mode>', 'how packets use the links').choices(BOND_MODES.filter((m) => m !== 'single')).default(d.bond))
    .addOption(new Option('--scheduler <name>', 'which path each packet takes (lowest-rtt: the old rule, to compare)').choices(SCHEDULERS).default(d.scheduler))
    .addOption(new Option('--cc <name>', "congestion controller of each path ('both': one set of runs with each)").choices([...CC_NAMES, 'both']).default(d.cc))
    .option('--kill <link@sec>', 'link loses all capacity at that time (repeatable)', collect, [])
    .option('--revive <link@sec>', 'link comes back at that time (repeatable)', collect, [])
    .option('--flap <link>', 'link whose RTT alternates every 2 s between 100 and 1200 ms; also runs the bond without it', num)
    .option('--adaptive', 'the source follows the target bitrate', false)
    .option('--reaction <ms>', 'encoder reaction delay with --adaptive', num, d.reaction)
    .option('--no-baseline', 'skip the single-link runs')
    .option('--real', 'real sockets and real time: link I sends from 127.0.0.<I+2> through its own emulator', false)
    .option('--json', 'end with one JSON line per run', false)
    .action(async (raw: Partial<BondBenchOptions>) => {
      const { benchBond, formatBond } = await import('../bench/bond/run.js');
      const o = { ...d, ...raw } as BondBenchOptions;
      const results = await benchBond(o);
      console.log(formatBond(results));
      if (o.json) for (const r of results) console.log(JSON.stringify(r));
    });
}
