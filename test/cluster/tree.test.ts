/**
 * A relay tree with real node processes and a real etcd: origin -> regional (relays from the
 * owner) -> edge (`--upstream regional`). A viewer on the edge gets the origin's frames through
 * the regional node, which alone relays from the origin; a WebSocket-FLV viewer on the edge is
 * served the same way.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { ClusterPublisher } from '../../src/bench/cluster/publisher.js';
import { BenchViewer } from '../../src/bench/cluster/viewer.js';
import { EtcdCluster } from '../../src/cluster/testing/EtcdCluster.js';
import { NodeProcess } from '../../src/cluster/testing/NodeProcess.js';

const SECRET = 'tree-test-cluster-secret-0123';
let etcd: EtcdCluster;
const nodes: NodeProcess[] = [];
const cleanup: (() => Promise<void> | void)[] = [];

before(async () => {
  etcd = await EtcdCluster.start();
});
after(async () => {
  for (const c of cleanup.reverse()) await c();
  await Promise.all(nodes.map((n) => n.stop()));
  await etcd?.stop();
});

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const status = async (n: NodeProcess) => (await (await fetch(`${n.httpBase}/api/cluster`)).json()) as { relays: { owner: string; token: number }[]; owners: Record<string, { node: string; token: number }> };

test('an edge with --upstream relays through its parent; the parent alone pulls from the owner; WebSocket-FLV is served too', async () => {
  const start = (id: string, host: string, args: string[] = []) => NodeProcess.start({ id, region: 'eu', host, etcdUrl: etcd.url, secret: SECRET, args }).then((n) => (nodes.push(n), n));
  const [origin, regional, edge] = await Promise.all([start('origin', '127.0.1.51'), start('regional', '127.0.1.52'), start('edge', '127.0.1.53', ['--upstream', 'regional'])]);
  const pub = new ClusterPublisher({ urls: [origin.transportUrl('live', 'tree')] });
  cleanup.push(() => pub.stop());
  await pub.start();
  await until('the edge knows the owner', async () => (await status(edge)).owners['live/tree']?.node === 'origin');

  const v = new BenchViewer(`${edge.httpBase}/live/tree.flv`, 'edge');
  cleanup.push(() => v.close());
  await until('the edge viewer has 30 video frames', () => v.videoTimes.length >= 30);
  assert.equal(v.ended, undefined);
  for (const id of v.arrivals.keys()) assert.ok(pub.sentAt.has(id), `frame ${id} is the publisher's`);

  const [e, r] = await Promise.all([status(edge), status(regional)]);
  assert.deepEqual(e.relays.map((x) => x.owner), ['regional'], 'the edge relays from its parent');
  assert.deepEqual(r.relays.map((x) => x.owner), ['origin'], 'the parent relays from the owner');
  assert.equal(e.relays[0]!.token, r.relays[0]!.token, "the parent passes the owner's fencing token on");
  assert.equal(e.relays[0]!.token, e.owners['live/tree']!.token);

  // WebSocket-FLV on the edge: the FLV header, then tags.
  const ws = new WebSocket(`ws://${edge.o.host}:${edge.httpPort}/live/tree.flv`);
  cleanup.push(() => ws.terminate());
  let bytes = 0;
  let first: Buffer | undefined;
  ws.on('message', (d: Buffer) => {
    first ??= d;
    bytes += d.length;
  });
  await until('the WebSocket viewer got 50 kB', () => bytes > 50_000);
  assert.equal(first!.subarray(0, 3).toString(), 'FLV');
});
