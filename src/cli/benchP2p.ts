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
    .option('--real', 'real peers on loopback: --peers Chromium tabs and --node-peers Node peers (each behind a link emulator) on a real node, then the simulation of the same audience', false)
    .option('--node-peers <n>', '--real: Node peers (P2pPeer, werift data channels, relay-only ICE through coturn behind a UdpLinkProxy each)', num, 0)
    .option('--peer-hosts <n>', '--real: child processes the Node peers are spread over', num, 2)
    .option('--rtt <ms>', '--real: round trip between two Node peers through their emulated access links', num, 40)
    .option('--loss <pct>', '--real: loss per datagram on each access link and direction, %', num, 0)
    .option('--settle <s>', '--real: seconds after the last join before the measured --duration', num, 15)
    .option('--join-gap <s>', '--real: seconds between one viewer joining and the next', num, 2)
    .option('--move-off-edge', 'the tracker moves viewers the edge feeds to super nodes with room (the core\'s moveOffEdge; --real: the p2p section\'s)', false)
    .option('--turn <url,user,pass>', '--real, tabs only: relay candidates only, through this TURN server (e.g. a coturn on loopback)')
    .option('--json', 'end with one JSON line (--real: real, sim, ratio and, when Node peers ran, sim+setup: the simulation with their mean channel setup time)', false)
    .action(async (o: { peers: number; bitrate: number; scenario: 'steady' | 'flash'; duration: number; warmup: number; meanStay: number; seed: number; real: boolean; nodePeers: number; peerHosts: number; rtt: number; loss: number; settle: number; joinGap: number; turn?: string; moveOffEdge: boolean; json: boolean }) => {
      if (o.real) {
        if (o.turn && o.nodePeers > 0) throw new Error('--turn is for tabs only: Node peers always relay through the bench\'s own coturn');
        const { runRealP2p } = await import('../bench/p2p/real.js');
        const { formatCompared } = await import('../bench/p2p/twin.js');
        const r = await runRealP2p({ peers: o.peers, nodePeers: o.nodePeers, bitrate: o.bitrate, duration: o.duration, settle: o.settle, joinGapS: o.joinGap, rttMs: o.rtt, loss: o.loss / 100, seed: o.seed, hosts: o.peerHosts, turn: o.turn, moveOffEdge: o.moveOffEdge });
        const x = r.real as typeof r.real & { nodePeers: number; tabs: number; playing: { node: number; tab: number }; p2pShareReceived: number };
        console.log(`real: ${x.nodePeers} Node peers (${x.playing.node} playing), ${x.tabs} Chromium tabs (${x.playing.tab} playing)${x.relay ? ', TURN relay only' : ''}; slice bytes from peers ${x.p2pShareReceived}`);
        console.log(`load: ${JSON.stringify(r.load)}`);
        console.log(formatCompared(r));
        if (o.json) for (const line of [r.real, r.sim, { mode: 'ratio', ...r.ratio, within10: r.within10, load: r.load }, ...(r.simSetup ? [{ ...r.simSetup, mode: 'sim+setup' }] : [])]) console.log(JSON.stringify(line));
        return;
      }
      const { runP2p, formatP2p } = await import('../bench/p2p/run.js');
      const run = runP2p({ peers: o.peers, bitrate: o.bitrate, scenario: o.scenario, duration: o.duration, seed: o.seed, meanStay: o.meanStay, warmup: Math.min(o.warmup, o.duration / 2), config: { moveOffEdge: o.moveOffEdge } });
      console.log(formatP2p(run));
      if (o.json) console.log(JSON.stringify(run.result));
    });
}
