import { Option, type Command } from 'commander';
import { benchCommand, num } from './options.js';

/** `tributary bench cluster --scenario origin-kill|main-backup|edge-kill|hops|etcd-member-kill|fanout`: real etcd, real node processes on 127.0.1.x. */
export function registerBenchCluster(program: Command): void {
  benchCommand(program)
    .command('cluster')
    .description('a cluster on loopback (3-member etcd, node processes on 127.0.1.x): origin-kill (kill -9 the owner mid-stream), edge-kill (kill -9 the edge of the viewers, who follow ?route=1) or hops (origin -> edge -> edge over lossy emulated links); main-backup (two publishers on two nodes, the main killed -9); etcd-member-kill (kill -9 of one etcd member, the leader by default); fanout (2,000 HTTP-FLV viewers on an edge fed by a relay, its CPU against a single node serving them directly)')
    .addOption(new Option('--scenario <name>', 'what to run').choices(['origin-kill', 'main-backup', 'hops', 'edge-kill', 'etcd-member-kill', 'fanout']).default('origin-kill'))
    .option('--viewers <n>', 'origin-kill, main-backup, etcd-member-kill: HTTP-FLV viewers per edge; edge-kill: viewers in all; fanout: viewers of the edge (default 2000)', num, 4)
    .option('--warmup <s>', 'origin-kill, main-backup: seconds of stream before the kill', num, 3)
    .option('--after <s>', 'origin-kill: seconds measured after the new owner is seen; edge-kill: after every viewer resumed', num, 6)
    .option('--rtt <ms>', 'hops: round-trip propagation of each hop', num, 40)
    .option('--loss <pct>', 'hops: random loss on each hop, each way, percent', num, 2)
    .option('--duration <s>', 'hops, fanout: measured seconds', num, 20)
    .option('--bitrate <mbps>', 'fanout: stream bitrate', num, 1)
    .option('--deadline <ms>', 'hops: on-time deadline from the publisher, ms', num, 600)
    .option('--seed <n>', 'hops: link emulator seed; fanout: the synthetic source\'s', num, 1)
    .addOption(new Option('--victim <which>', 'etcd-member-kill: the etcd member killed').choices(['leader', 'follower']).default('leader'))
    .option('--json', 'end with one JSON line', false)
    .action(async (o, cmd: Command) => {
      if (o.scenario === 'fanout') {
        const { fanout } = await import('../bench/cluster/fanout.js');
        const viewers = cmd.getOptionValueSource('viewers') === 'default' ? 2000 : o.viewers;
        const d = await fanout({ viewers, bitrateMbps: o.bitrate, durationS: o.duration, seed: o.seed });
        const r = d.result;
        const row = (name: string, x: typeof d.edge, cpu: number) =>
          `  ${name.padEnd(12)} CPU ${String(cpu).padStart(5)}% of a core (${(cpu / viewers).toFixed(4)} per viewer)  delivered ${(x.deliveredRatio * 100).toFixed(2)}%  ok ${x.viewersOk}/${viewers}  errors ${x.viewerErrors}  delay p50/p95/max ${x.latencyMs.p50}/${x.latencyMs.p95}/${x.latencyMs.max} ms  join p50/max ${x.joinMs.p50}/${x.joinMs.max} ms (${x.joinedAtWindow} joined when the window opened)  egress ${x.egressMbps} Mbit/s (${x.egressMbps > 0 ? (cpu / x.egressMbps).toFixed(3) : '-'}% CPU per Mbit/s)  viewers' own CPU ${x.clientCpuPct}%`;
        console.log([
          `fanout: ${viewers} HTTP-FLV viewers x ${o.bitrate} Mbit/s; the edge fed by a relay from the origin, then a single node serving them directly (the viewers run in this process, on the same 2 cores)`,
          row('edge', d.edge, r.edgeCpu),
          row('single node', d.single, r.singleCpu),
          `  CPU per viewer, edge / single: ${r.cpuPerViewerRatio}; with one viewer (before the crowd): edge ${d.atRestCpu.edge}%, single ${d.atRestCpu.single}%; above that, per viewer: edge ${((r.edgeCpu - d.atRestCpu.edge) / viewers).toFixed(4)}%, single ${((r.singleCpu - d.atRestCpu.single) / viewers).toFixed(4)}%`,
          ...[['edge', d.edge], ['single', d.single]].filter(([, x]) => (x as typeof d.edge).viewerErrors > 0).map(([n, x]) => `  ${n} viewer errors: ${JSON.stringify((x as typeof d.edge).errorKinds)}`),
          `  relay at the end: ${d.relay ? `from ${d.relay.owner}, ${d.relay.dropped ?? 0} dropped; loss before/after repair ${d.relay.lossBeforeRepair ?? '?'}/${d.relay.lossAfterRepair ?? '?'}, ${d.relay.retransmits ?? '?'} resends` : 'none seen'}`,
          `  etcd gRPC messages/s (one stream, 2 nodes): ${d.etcdOpsPerSOneViewer} with 1 viewer, ${r.etcdOpsPerStreamPerS} while ${viewers} viewers came and watched`,
        ].join('\n'));
        if (o.json) console.log(JSON.stringify(r));
      } else if (o.scenario === 'etcd-member-kill') {
        const { etcdMemberKill } = await import('../bench/cluster/etcdMemberKill.js');
        const d = await etcdMemberKill({ viewers: o.viewers, warmupS: o.warmup, afterS: o.after, victim: o.victim });
        const r = d.result;
        const k = (n: string) => {
          const x = d.counters[n]!;
          return `${n}: ${x.watchDisconnects} watch breaks, ${x.recordWriteFailures} failed record writes, ${x.leaseGrants} new leases, ${x.claims} claims`;
        };
        console.log([
          `etcd-member-kill: ${d.viewers} HTTP-FLV viewers on the edge, etcd member ${d.killed.member + 1} (${d.killed.wasLeader ? 'the leader' : 'a follower'}) killed -9`,
          `  viewer gap ms        p50 ${r.viewerGapMs.p50}  max ${r.viewerGapMs.max}  (the longest began ${d.longestGapAtMs} ms after the kill; before it, over the warmup: max ${d.baselineGapMs})`,
          `  viewers reconnected  ${r.viewersReconnected}`,
          `  frames lost          max ${r.framesLost} per viewer`,
          `  new etcd leader      ${d.killed.wasLeader ? `${d.newLeaderMs} ms after the kill` : 'not needed'}`,
          `  owner token          ${d.ownerToken.before} before, ${d.ownerToken.after} after`,
          `  route answers        ${d.routes.failed} of ${d.routes.asked} not a 200 naming the origin`,
          `  nodes                ${k('origin')}; ${k('edge')}`,
          d.recording ? `  recording gap        ${r.recordingGapMs} ms in the owner's recording (${d.recording.segments} segments; ${d.recording.framesLost} of the measured frames missing from it)` : `  recording gap        no recording spans the kill`,
        ].join('\n'));
        if (o.json) console.log(JSON.stringify(r));
      } else if (o.scenario === 'main-backup') {
        const { mainBackup } = await import('../bench/cluster/mainBackup.js');
        const d = await mainBackup({ viewersPerEdge: o.viewers, warmupS: o.warmup, afterS: o.after });
        const r = d.result;
        console.log([
          `main-backup: ${d.viewers} HTTP-FLV viewers on 2 edges; main and backup publishers on two nodes, the main's process killed -9`,
          `  viewer gap ms        p50 ${r.viewerGapMs.p50}  max ${r.viewerGapMs.max}`,
          `  viewers reconnected  ${r.viewersReconnected}`,
          `  frames lost          max ${r.framesLost} video frames per viewer (mean ${d.framesLostMean})`,
          `  new owner seen       ${d.ownerSeenMovedMs} ms after the kill`,
          `  main back on its node: owner ${String(d.returned.owner)}, standing by there: ${d.returned.standbyOnMain ? 'yes' : 'NO'}`,
          d.recording ? `  recording            on ${d.recording.node}: ${d.recording.segments} segments, longest gap ${r.recordingGapMs} ms, ${d.recording.framesLost} video frames of the window missing` : `  recording            none went through the kill`,
        ].join('\n'));
        if (o.json) console.log(JSON.stringify(r));
      } else if (o.scenario === 'origin-kill') {
        const { originKill } = await import('../bench/cluster/originKill.js');
        const d = await originKill({ viewersPerEdge: o.viewers, warmupS: o.warmup, afterS: o.after });
        const r = d.result;
        console.log([
          `origin-kill: ${d.viewers} HTTP-FLV viewers on 2 edges, owner killed -9, publisher moved to its second address`,
          `  viewer gap ms        p50 ${r.viewerGapMs.p50}  max ${r.viewerGapMs.max}`,
          `  viewers reconnected  ${r.viewersReconnected}`,
          `  frames lost          max ${r.framesLost} per viewer (mean ${d.framesLostMean}; ${d.unsentAtSource} made while the publisher had no node)`,
          `  new owner seen       ${d.ownerSeenMovedMs} ms after the kill`,
          d.recording ? `  recording gap        ${r.recordingGapMs} ms in the replica's recording on ${d.recording.node} (${d.recording.segments} segments, ${d.recording.durationMs} ms; ${d.recording.framesLost} of the measured frames missing from it)` : `  recording gap        no recording survived the kill`,
        ].join('\n'));
        if (o.json) console.log(JSON.stringify(r));
      } else if (o.scenario === 'edge-kill') {
        const { edgeKill } = await import('../bench/cluster/edgeKill.js');
        const d = await edgeKill({ viewers: o.viewers, afterS: Math.min(o.after, 2) });
        const r = d.result;
        console.log([
          `edge-kill: ${d.viewers} HTTP-FLV viewers following ?route=1 and the player page (Chromium, WS-FLV, route=1), their edge killed -9`,
          `  resume ms        p50 ${r.resumeMs.p50}  max ${r.resumeMs.max} (all); page ${r.pageResumeMs ?? 'never'}${d.pageLandedOn ? ` on ${d.pageLandedOn}` : ''}`,
          `  resumed          ${d.resumed} of ${d.viewers} (landed on ${Object.entries(d.landedOn).map(([k, v]) => `${k}: ${v}`).join(', ')}; ${d.attempts} route requests)`,
        ].join('\n'));
        if (o.json) console.log(JSON.stringify(r));
      } else {
        const { hops } = await import('../bench/cluster/hops.js');
        const d = await hops({ rttMs: o.rtt, lossPct: o.loss, durationS: o.duration, deadlineMs: o.deadline, seed: o.seed });
        const r = d.result;
        console.log([
          `hops: origin -> hop1 -> hop2, each hop ${o.rtt} ms RTT and ${o.loss}% loss each way; deadline ${o.deadline} ms`,
          `  added delay per hop ms  p50 ${r.hopDelayMs.p50}  p95 ${r.hopDelayMs.p95}  (hop1 p50 ${d.perHop[0]!.p50} p95 ${d.perHop[0]!.p95}; hop2 p50 ${d.perHop[1]!.p50} p95 ${d.perHop[1]!.p95})`,
          `  on time at hop2         ${r.onTimeRatio} (${d.onTimeFrames} of ${d.frames} frames)`,
          `  FEC recoveries          hop1 ${d.fecRecovered[0] ?? '?'}, hop2 ${d.fecRecovered[1] ?? '?'} (receiving side of each relay session)`,
        ].join('\n'));
        if (o.json) console.log(JSON.stringify(r));
      }
    });
}
