/**
 * hops: a chain origin -> hop1 -> hop2, each hop a relay through the link emulator (UdpLinkProxy:
 * `--rtt` split per direction, `--loss` each way), hop1 and hop2 pointed at their parent with
 * `serve --upstream NODE@PROXY`. One HTTP-FLV viewer on each node (over loopback TCP, no
 * emulation) records when each frame arrived; the per-hop added delay is the arrival at a node
 * minus the arrival at its parent, less the emulated one-way propagation. On time: a frame the
 * viewer on the last hop got within `--deadline` of when the publisher sent it.
 */
import { UdpLinkProxy } from '../../emulator/UdpLinkProxy.js';
import { free } from '../../cluster/testing/EtcdCluster.js';
import { summarize } from '../percentiles.js';
import { ClusterPublisher } from './publisher.js';
import { BenchCluster, getJson, sleep, until } from './cluster.js';
import { BenchViewer } from './viewer.js';

export interface HopsOptions {
  rttMs: number;
  lossPct: number;
  durationS: number;
  deadlineMs: number;
  seed: number;
}

export interface HopsResult {
  scenario: 'hops';
  hopDelayMs: { p50: number; p95: number };
  onTimeRatio: number;
}

export interface HopsDetail {
  result: HopsResult;
  perHop: { p50: number; p95: number; max: number }[];
  frames: number;
  onTimeFrames: number;
  retransmits: (number | undefined)[];
  fecRecovered: (number | undefined)[];
  lossBeforeRepair: (number | undefined)[];
}

export async function hops(o: HopsOptions): Promise<HopsDetail> {
  const c = await BenchCluster.start();
  const oneWay = o.rttMs / 2;
  const link = { delayMs: oneWay, loss: o.lossPct / 100 };
  try {
    const origin = await c.node({ id: 'origin', region: 'r1', host: '127.0.1.41' });
    const p1 = await proxy(c, origin.transportPort, '127.0.1.41', o.seed, link);
    const hop1 = await c.node({ id: 'hop1', region: 'r1', host: '127.0.1.42', args: ['--upstream', `origin@127.0.0.1:${p1}`] });
    const p2 = await proxy(c, hop1.transportPort, '127.0.1.42', o.seed + 1, link);
    const hop2 = await c.node({ id: 'hop2', region: 'r1', host: '127.0.1.43', args: ['--upstream', `hop1@127.0.0.1:${p2}`] });
    const pub = new ClusterPublisher({ urls: [origin.transportUrl('live', 'hops')], deadlineMs: o.deadlineMs });
    c.onStop(() => pub.stop());
    await pub.start();
    await until('hop2 sees the origin own the stream', async () => (await getJson(`${hop2.httpBase}/api/route?app=live&key=hops`)).body.owner === 'origin');
    const viewers = [origin, hop1, hop2].map((n) => new BenchViewer(`${n.httpBase}/live/hops.flv`, n.id));
    c.onStop(() => viewers.forEach((v) => v.close()));
    await until('every node has video', () => viewers.every((v) => v.videoTimes.length > 10), 20_000);
    await sleep(2000);
    const from = performance.now();
    await sleep(o.durationS * 1000);
    const until_ = performance.now();
    await sleep(o.deadlineMs + 200);
    const ids = [...pub.sentAt].filter(([, t]) => t >= from && t <= until_);
    const perHop: number[][] = [[], []];
    for (const [id] of ids) {
      for (let h = 0; h < 2; h++) {
        const up = viewers[h]!.arrivals.get(id);
        const down = viewers[h + 1]!.arrivals.get(id);
        if (up !== undefined && down !== undefined) perHop[h]!.push(down - up - oneWay);
      }
    }
    const last = viewers[2]!;
    const onTime = ids.filter(([id, sent]) => {
      const t = last.arrivals.get(id);
      return t !== undefined && t - sent <= o.deadlineMs;
    }).length;
    const all = summarize([...perHop[0]!, ...perHop[1]!]);
    const relayStats = await Promise.all([hop1, hop2].map(async (n) => ((await getJson(`${n.httpBase}/api/cluster`)).body.relays as Record<string, number | undefined>[])[0] ?? {}));
    return {
      result: { scenario: 'hops', hopDelayMs: { p50: all.p50, p95: all.p95 }, onTimeRatio: ids.length ? Math.round((onTime / ids.length) * 10000) / 10000 : 0 },
      perHop: perHop.map((d) => {
        const s = summarize(d);
        return { p50: s.p50, p95: s.p95, max: s.max };
      }),
      frames: ids.length,
      onTimeFrames: onTime,
      retransmits: relayStats.map((r) => r.retransmits),
      fecRecovered: relayStats.map((r) => r.fecRecovered),
      lossBeforeRepair: relayStats.map((r) => r.lossBeforeRepair),
    };
  } finally {
    await c.stop();
  }
}

/** A lossy link in front of a node's transport port, listening on 127.0.0.1 in 20000-20999. */
async function proxy(c: BenchCluster, port: number, host: string, seed: number, link: { delayMs: number; loss: number }): Promise<number> {
  let listenPort = 0;
  for (let i = 0; i < 100 && !listenPort; i++) {
    const p = 20000 + Math.floor(Math.random() * 1000);
    if (await free('127.0.0.1', p)) listenPort = p;
  }
  const px = new UdpLinkProxy({ target: { host, port }, listenPort, up: link, down: link, seed });
  await px.listen();
  c.onStop(() => px.close());
  return px.port;
}
