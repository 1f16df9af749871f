/** What every scenario starts: a real 3-member etcd and node processes; all stopped on the way out. */
import { EtcdCluster } from '../../cluster/testing/EtcdCluster.js';
import { NodeProcess, type NodeProcessOptions } from '../../cluster/testing/NodeProcess.js';
import { randomBytes } from 'node:crypto';

export class BenchCluster {
  readonly secret = randomBytes(24).toString('base64url');
  readonly nodes: NodeProcess[] = [];
  private readonly stops: (() => Promise<void> | void)[] = [];

  private constructor(readonly etcd: EtcdCluster) {}

  static async start(): Promise<BenchCluster> {
    return new BenchCluster(await EtcdCluster.start());
  }

  async node(o: Omit<NodeProcessOptions, 'etcdUrl' | 'secret'>): Promise<NodeProcess> {
    const n = await NodeProcess.start({ ...o, etcdUrl: this.etcd.url, secret: this.secret });
    this.nodes.push(n);
    return n;
  }

  onStop(f: () => Promise<void> | void): void {
    this.stops.push(f);
  }

  async stop(): Promise<void> {
    for (const f of this.stops.reverse()) await Promise.resolve(f()).catch(() => undefined);
    await Promise.all(this.nodes.map((n) => n.stop()));
    await this.etcd.stop();
  }
}

export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`bench cluster: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}
