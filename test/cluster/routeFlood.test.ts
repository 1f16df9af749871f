/**
 * A flood of route requests costs etcd nothing: 2,000 GET /api/route in a burst to a real node
 * process are all answered (from its watched view), and etcd's own request counters (every
 * member's /metrics, not a counter of the code under test) show no read per request.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { ClusterPublisher } from '../../src/bench/cluster/publisher.js';
import { EtcdCluster } from '../../src/cluster/testing/EtcdCluster.js';
import { NodeProcess } from '../../src/cluster/testing/NodeProcess.js';

const SECRET = 'test-cluster-secret-route-flood';
const REQUESTS = 2000;
/** Requests in flight at once (sockets of the client's agent). */
const IN_FLIGHT = 200;
let etcd: EtcdCluster;
let node: NodeProcess;
const cleanup: (() => Promise<void> | void)[] = [];

before(async () => {
  etcd = await EtcdCluster.start();
  node = await NodeProcess.start({ id: 'n1', region: 'r1', host: '127.0.1.85', etcdUrl: etcd.url, secret: SECRET });
});
after(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
  await node?.stop();
  await etcd?.stop();
});

function get(url: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The etcd requests that read: Range, and Txn (a compare can read; claims use it). */
async function reads(): Promise<number> {
  return (await etcd.requests('Range')) + (await etcd.requests('Txn'));
}

test('2,000 route requests in a burst are answered from the watched view, with no etcd read per request', async (t) => {
  const pub = new ClusterPublisher({ urls: [node.transportUrl('live', 'cam')] });
  cleanup.push(() => pub.stop());
  await pub.start();
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  cleanup.push(() => agent.destroy());
  const url = `${node.httpBase}/api/route?app=live&key=cam`;
  const end = Date.now() + 15_000;
  while ((await get(url, agent)).status !== 200) {
    assert.ok(Date.now() < end, 'the node routes live/cam once it owns it');
    await new Promise((r) => setTimeout(r, 50));
  }

  // The counters do count reads: one read of ours shows.
  const client = new Etcd3({ hosts: etcd.endpoints.map((h) => `http://${h}`) });
  cleanup.push(() => client.close());
  const r0 = await etcd.requests('Range');
  await client.get('tributary/nodes/n1').string();
  assert.ok((await etcd.requests('Range')) >= r0 + 1, "etcd's Range counter sees a read");

  const before = await reads();
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: REQUESTS }, () => get(url, agent)));
  const ms = performance.now() - started;
  const readsDuring = (await reads()) - before;

  t.diagnostic(`${REQUESTS} route answers in ${Math.round(ms)} ms; etcd Range+Txn requests meanwhile: ${readsDuring}`);
  const bad = answers.filter((a) => a.status !== 200 || JSON.parse(a.body).node !== 'n1');
  assert.equal(bad.length, 0, `every request answered with the node (first bad: ${bad[0]?.status} ${bad[0]?.body})`);
  // The node's own background work (a record put each second, keepalives) is not a read; a few
  // reads of anything else during the burst are allowed, one per request is what must not be.
  assert.ok(readsDuring <= 5, `etcd reads during ${REQUESTS} route requests (${Math.round(ms)} ms): ${readsDuring}`);
});
