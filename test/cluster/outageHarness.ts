/**
 * What the etcd-outage tests share: a real 3-member etcd, an origin and an edge node process,
 * publishers on the origin, HTTP-FLV viewers on the edge, and the API calls they judge by.
 */
import { ClusterPublisher } from '../../src/bench/cluster/publisher.js';
import { BenchViewer } from '../../src/bench/cluster/viewer.js';
import { getJson } from '../../src/bench/cluster/cluster.js';
import { EtcdCluster } from '../../src/cluster/testing/EtcdCluster.js';
import { NodeProcess } from '../../src/cluster/testing/NodeProcess.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class OutageHarness {
  private readonly cleanup: (() => Promise<void> | void)[] = [];

  private constructor(readonly etcd: EtcdCluster, readonly origin: NodeProcess, readonly edge: NodeProcess) {}

  /** `hosts`: the origin's and the edge's loopback addresses (distinct per test file). */
  static async start(secret: string, hosts: [string, string]): Promise<OutageHarness> {
    const etcd = await EtcdCluster.start();
    const [origin, edge] = await Promise.all([
      NodeProcess.start({ id: 'origin', region: 'r1', host: hosts[0], etcdUrl: etcd.url, secret, logLevel: 'info' }),
      NodeProcess.start({ id: 'edge', region: 'r1', host: hosts[1], etcdUrl: etcd.url, secret, logLevel: 'info' }),
    ]);
    return new OutageHarness(etcd, origin, edge);
  }

  async stop(): Promise<void> {
    for (const c of this.cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
    await Promise.all([this.origin.stop(), this.edge.stop()]);
    await this.etcd.stop();
  }

  onStop(f: () => Promise<void> | void): void {
    this.cleanup.push(f);
  }

  async until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) {
        const lines = [this.origin, this.edge].flatMap((n) => n.log().split('\n').filter((l) => /"cluster/.test(l)).map((l) => `${n.id}: ${l.slice(0, 240)}`));
        throw new Error(`timed out waiting for ${what}\n${lines.slice(-40).join('\n')}`);
      }
      await sleep(50);
    }
  }

  route(n: NodeProcess, key: string) {
    return getJson(`${n.httpBase}/api/route?app=live&key=${key}`);
  }

  async cluster(n: NodeProcess): Promise<{ counters: Record<string, number>; etcdUnreachableMs: number; owners: Record<string, { node: string }> }> {
    return (await getJson(`${n.httpBase}/api/cluster`)).body as never;
  }

  publisher(key: string): ClusterPublisher {
    const p = new ClusterPublisher({ urls: [this.origin.transportUrl('live', key)] });
    this.onStop(() => p.stop());
    return p;
  }

  viewer(key: string): BenchViewer {
    const v = new BenchViewer(`${this.edge.httpBase}/live/${key}.flv`, this.edge.id);
    this.onStop(() => v.close());
    return v;
  }
}
