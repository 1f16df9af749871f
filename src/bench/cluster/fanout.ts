/**
 * fanout: one edge node serving a crowd of HTTP-FLV viewers of a stream it pulls over a relay
 * from the origin (the stream published on the origin over RTMP), against a single node (this
 * checkout's `tributary serve`, no cluster: what `bench fanout` runs) serving the same crowd
 * directly, in the same invocation, one after the other. Publisher, stream and viewers are the
 * fanout bench's own (publishFanout, runCrowd): the same load, driven the same way. Each
 * server's CPU is read from its /proc/PID/stat over the measured window.
 *
 * etcd traffic: the client gRPC messages the three members received (their /metrics), over a
 * window with one viewer on the edge and over the whole crowd phase (arrivals included), per
 * second and per stream (one stream here, so also the nodes' own membership refreshes).
 */
import { procCpuSeconds, startServer } from '../fanout/servers.js';
import { publishFanout } from '../fanout/publisher.js';
import { runCrowd, type CrowdResult } from '../fanout/crowd.js';
import { FlvViewer } from '../fanout/viewers.js';
import { BenchCluster, getJson, sleep, until } from './cluster.js';

export interface FanoutOptions {
  viewers: number;
  bitrateMbps: number;
  durationS: number;
  seed: number;
}

export interface FanoutResult {
  scenario: 'fanout';
  viewers: number;
  /** CPU of the edge process over the window, % of one core. */
  edgeCpu: number;
  /** CPU of the single node over the window, % of one core. */
  singleCpu: number;
  /** (edgeCpu / viewers) / (singleCpu / viewers). */
  cpuPerViewerRatio: number;
  /** Edge viewers with no error that got >= 99% of the window's frames. */
  viewersOk: number;
  etcdOpsPerStreamPerS: number;
}

export interface FanoutDetail {
  result: FanoutResult;
  edge: CrowdResult;
  single: CrowdResult;
  /** etcd messages per second with one viewer on the edge. */
  etcdOpsPerSOneViewer: number;
  /**
   * CPU (% of a core) of each server over 5 s with one viewer, before the crowd: the edge's is
   * its relay and cluster upkeep, which a per-viewer figure at a small crowd would spread over few viewers.
   */
  atRestCpu: { edge: number; single: number };
  /** The edge's relay at the end of the window, as /api/cluster shows it (undefined: there was none). */
  relay: { owner?: string; dropped?: number; lossBeforeRepair?: number; lossAfterRepair?: number; retransmits?: number } | undefined;
}

export async function fanout(o: FanoutOptions): Promise<FanoutDetail> {
  const c = await BenchCluster.start();
  let edge: CrowdResult;
  let single: CrowdResult;
  let singleAtRest: number;
  let etcdOne: number;
  let edgeAtRest: number;
  let etcdCrowd: number;
  let relay: { owner?: string; dropped?: number; lossBeforeRepair?: number; lossAfterRepair?: number; retransmits?: number } | undefined;
  let relayAtEnd: Promise<{ body: Record<string, unknown> }> | undefined;
  try {
    const origin = await c.node({ id: 'origin', region: 'r1', host: '127.0.1.51' });
    const edgeNode = await c.node({ id: 'edge', region: 'r1', host: '127.0.1.52' });
    const pub = await publishFanout(`rtmp://127.0.1.51:${origin.rtmpPort}/live/fanout`, o.bitrateMbps * 1e6, o.seed);
    c.onStop(() => pub.close());
    await until('the edge sees the origin own the stream', async () => (await getJson(`${edgeNode.httpBase}/api/route?app=live&key=fanout`)).body.owner === 'origin');
    const url = `${edgeNode.httpBase}/live/fanout.flv`;

    // One viewer: the relay is up; etcd's traffic for one stream and two nodes at rest.
    const one = new FlvViewer(url, () => undefined, { from: Infinity, until: Infinity });
    await until('the one viewer has video', () => one.stats.joinMs !== undefined, 20_000);
    await sleep(1000);
    const pid = edgeNode.child.pid!;
    const cpu0 = procCpuSeconds(pid);
    const t1 = performance.now();
    etcdOne = await etcdRate(c, 5000);
    edgeAtRest = (procCpuSeconds(pid) - cpu0) / ((performance.now() - t1) / 1000) * 100;
    one.close();

    const m0 = await c.etcd.messagesReceived();
    const t0 = performance.now();
    edge = await runCrowd({
      url,
      viewers: o.viewers,
      durationS: o.durationS,
      sentAt: pub.sentAt,
      cpuSeconds: () => procCpuSeconds(pid),
      // Before the crowd leaves (the relay closes with its last viewer).
      atWindowEnd: () => void (relayAtEnd = getJson(`${edgeNode.httpBase}/api/cluster`)),
    });
    etcdCrowd = ((await c.etcd.messagesReceived()) - m0) / ((performance.now() - t0) / 1000);
    const relays = (await relayAtEnd!).body.relays as { owner?: string; dropped?: number; lossBeforeRepair?: number; lossAfterRepair?: number; retransmits?: number }[] | undefined;
    relay = relays?.[0];

    // The single node runs beside the same processes (etcd, the origin and its publisher, the
    // edge, idle now), so both crowds share the cores with the same neighbours.
    const server = await startServer('tributary');
    try {
      const pub = await publishFanout(`rtmp://127.0.0.1:${server.rtmpPort}/live/fanout`, o.bitrateMbps * 1e6, o.seed);
      try {
        const one = new FlvViewer(server.flvUrl('live', 'fanout'), () => undefined, { from: Infinity, until: Infinity });
        await until('the one viewer has video', () => one.stats.joinMs !== undefined, 20_000);
        await sleep(1000);
        const cpu0 = server.cpuSeconds();
        const t1 = performance.now();
        await sleep(5000);
        singleAtRest = (server.cpuSeconds() - cpu0) / ((performance.now() - t1) / 1000) * 100;
        one.close();
        single = await runCrowd({ url: server.flvUrl('live', 'fanout'), viewers: o.viewers, durationS: o.durationS, sentAt: pub.sentAt, cpuSeconds: () => server.cpuSeconds() });
      } finally {
        pub.close();
      }
    } finally {
      await server.stop();
    }
  } finally {
    await c.stop();
  }

  const round = (x: number, d = 10): number => Math.round(x * d) / d;
  return {
    result: {
      scenario: 'fanout',
      viewers: o.viewers,
      edgeCpu: edge.serverCpuPct,
      singleCpu: single.serverCpuPct,
      cpuPerViewerRatio: single.serverCpuPct > 0 ? round(edge.serverCpuPct / single.serverCpuPct, 1000) : 0,
      viewersOk: edge.viewersOk,
      etcdOpsPerStreamPerS: round(etcdCrowd),
    },
    edge,
    single,
    etcdOpsPerSOneViewer: round(etcdOne),
    atRestCpu: { edge: round(edgeAtRest), single: round(singleAtRest) },
    relay,
  };
}

async function etcdRate(c: BenchCluster, ms: number): Promise<number> {
  const m0 = await c.etcd.messagesReceived();
  const t0 = performance.now();
  await sleep(ms);
  return ((await c.etcd.messagesReceived()) - m0) / ((performance.now() - t0) / 1000);
}
