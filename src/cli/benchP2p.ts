import { Option, type Command } from 'commander';
import { benchCommand, num } from './options.js';

/** `tributary bench p2p`: the P2P swarm in the discrete-event simulator (the real core in virtual time). */
export function registerBenchP2p(program: Command): void {
  benchCommand(program)
    .command('p2p')
    .description('P2P delivery of one stream: edge share, continuity, delay and startup of N simulated viewers (real core, virtual time)')
    .option('--peers <n>', 'viewers (flash: half watch, half join in 10 s)', num, 2000)
    .option('--bitrate <mbps>', 'stream bitrate, Mbit/s', num, 1)
    .addOption(new Option('--scenario <name>', 'steady audience with churn, or a flash crowd').choices(['steady', 'flash']).default('steady'))
    .option('--duration <s>', 'simulated seconds, warm-up included', num, 120)
    .option('--warmup <s>', 'seconds before measuring (the first audience joins in its first 70%)', num, 30)
    .option('--mean-stay <s>', 'churn: mean stay of a viewer, s (0: no churn)', num, 300)
    .option('--seed <n>', 'random seed', num, 1)
    .option('--real', 'Chromium tabs (--peers of them) playing over P2P from a real node on loopback (Node peers are not built)', false)
    .option('--join-gap <s>', '--real: seconds between one tab joining and the next', num, 2)
    .option('--move-off-edge', 'the tracker moves viewers the edge feeds to super nodes with room (the core\'s moveOffEdge; --real: the p2p section\'s)', false)
    .option('--turn <url,user,pass>', '--real: relay candidates only, through this TURN server (e.g. a coturn on loopback)')
    .option('--json', 'end with one JSON line', false)
    .action(async (o: { peers: number; bitrate: number; scenario: 'steady' | 'flash'; duration: number; warmup: number; meanStay: number; seed: number; real: boolean; joinGap: number; turn?: string; moveOffEdge: boolean; json: boolean }) => {
      if (o.real) {
        const { runRealP2p } = await import('../bench/p2p/real.js');
        const r = await runRealP2p({ peers: o.peers, duration: o.duration, joinGapS: o.joinGap, turn: o.turn, moveOffEdge: o.moveOffEdge });
        const { p50, p99, max } = r.delayMs;
        console.log([`real: ${r.peers} Chromium tabs (${r.playing} playing)${r.relay ? ', TURN relay only' : ''}`, `edgeShare ${r.edgeShare}`, `continuity ${r.continuity}`,
          `delayMs p50 ${p50} p99 ${p99} max ${max}`, `startupMs p50 ${r.startupMs.p50} p95 ${r.startupMs.p95}`, `controlOverhead ${r.controlOverhead}`,
          `compensationShare ${r.compensationShare}`, `slice bytes from peers ${r.p2pShareReceived}`].join('\n'));
        if (o.json) console.log(JSON.stringify(r));
        return;
      }
      const { runP2p, formatP2p } = await import('../bench/p2p/run.js');
      const run = runP2p({ peers: o.peers, bitrate: o.bitrate, scenario: o.scenario, duration: o.duration, seed: o.seed, meanStay: o.meanStay, warmup: Math.min(o.warmup, o.duration / 2), config: { moveOffEdge: o.moveOffEdge } });
      console.log(formatP2p(run));
      if (o.json) console.log(JSON.stringify(run.result));
    });
}
