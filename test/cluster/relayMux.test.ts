/**
 * One relay session per node pair: two streams an edge relays from the same owner travel as two
 * channels of one transport session, and both play (each viewer gets its own stream's frames);
 * the session outlives the first stream's relay and closes with the last. Hostile channel
 * messages on such a session (junk, a hello for a stream the node does not own, a second hello
 * on an open channel) are dropped or refused per channel and leave the session serving.
 * Real node processes and a real 3-member etcd.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { ClusterPublisher } from '../../src/bench/cluster/publisher.js';
import { parseNodeRecord } from '../../src/cluster/keys.js';
import { RelayLink } from '../../src/cluster/RelayLink.js';
import { EtcdCluster } from '../../src/cluster/testing/EtcdCluster.js';
import { NodeProcess } from '../../src/cluster/testing/NodeProcess.js';
import { FlvDemuxer } from '../../src/media/flv/FlvDemuxer.js';
import { decodeMessage, encodeHello } from '../../src/media/tributary/index.js';

const SECRET = 'test-cluster-secret-mux-0123456789';
let etcd: EtcdCluster;
let a: NodeProcess;
let b: NodeProcess;
const cleanup: (() => Promise<void> | void)[] = [];

before(async () => {
  etcd = await EtcdCluster.start();
  [a, b] = await Promise.all([
    NodeProcess.start({ id: 'origin', region: 'eu', host: '127.0.1.61', etcdUrl: etcd.url, secret: SECRET, logLevel: 'info' }),
    NodeProcess.start({ id: 'edge', region: 'eu', host: '127.0.1.62', etcdUrl: etcd.url, secret: SECRET, logLevel: 'info' }),
  ]);
});
after(async () => {
  for (const c of cleanup.reverse()) await c();
  await Promise.all([a?.stop(), b?.stop()]);
  await etcd?.stop();
});

async function status(n: NodeProcess): Promise<{ relayLinks: { node: string; channels: number }[]; relays: { stream: string; owner: string }[]; counters: Record<string, number> }> {
  const res = await fetch(`${n.httpBase}/api/cluster`);
  return (await res.json()) as never;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) {
      const lines = [a, b].flatMap((n) => n.log().split('\n').filter((l) => /"cluster|transport: (publish|play|relay)/.test(l)).map((l) => `${n.id}: ${l.slice(0, 240)}`));
      const st = await Promise.all([a, b].map(async (n) => `${n.id}: ${JSON.stringify(await status(n).catch((e) => String(e))).slice(0, 600)}`));
      const streams = await fetch(`${b.httpBase}/api/streams`).then((r) => r.text()).catch((e) => String(e));
      throw new Error(`timed out waiting for ${what}\n${lines.slice(-30).join('\n')}\n${st.join('\n')}\nedge streams: ${streams.slice(0, 1500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An HTTP-FLV viewer that keeps the payload size of every video frame (each publisher here has sizes of its own). */
function sizes(url: string): { sizes: number[]; error?: string; close(): void } {
  const v: { sizes: number[]; error?: string; close(): void } = { sizes: [], close: () => req.destroy() };
  const demuxer = new FlvDemuxer();
  const req = request(url, { agent: false }, (res) => {
    if (res.statusCode !== 200) return void ((v.error = `HTTP ${res.statusCode}`), res.resume());
    res.on('data', (chunk: Buffer) => {
      for (const o of demuxer.push(chunk)) if (o.type === 'frame' && o.frame.kind === 'video') v.sizes.push(o.frame.data.length);
    });
    res.on('end', () => (v.error ??= 'ended'));
  });
  req.on('error', (e) => (v.error ??= e.message));
  req.end();
  cleanup.push(() => v.close());
  return v;
}

test('two streams relayed between the same two nodes share one session, and both play', async () => {
  const one = new ClusterPublisher({ urls: [a.transportUrl('live', 'one')], videoBytes: 3000 });
  const two = new ClusterPublisher({ urls: [a.transportUrl('live', 'two')], videoBytes: 5000 });
  cleanup.push(() => one.stop(), () => two.stop());
  await Promise.all([one.start(), two.start()]);
  await until('the edge sees the origin own both', async () => {
    const s = await status(b);
    return ['live/one', 'live/two'].every((p) => (s as unknown as { owners: Record<string, { node: string }> }).owners[p]?.node === 'origin');
  });

  const v1 = sizes(`${b.httpBase}/live/one.flv`);
  const v2 = sizes(`${b.httpBase}/live/two.flv`);
  await until('both edge viewers have 30 frames', () => v1.sizes.length >= 30 && v2.sizes.length >= 30);
  assert.equal(v1.error, undefined);
  assert.equal(v2.error, undefined);
  // Each viewer got its own stream: the channels were not crossed.
  assert.ok(v1.sizes.every((n) => n === 3000 || n === 12000), `stream one's frames: ${[...new Set(v1.sizes)]}`);
  assert.ok(v2.sizes.every((n) => n === 5000 || n === 20000), `stream two's frames: ${[...new Set(v2.sizes)]}`);

  const edge = await status(b);
  assert.deepEqual(edge.relays.map((r) => r.stream).sort(), ['live/one', 'live/two']);
  assert.deepEqual(edge.relayLinks, [{ node: 'origin', channels: 2 }], 'one session to the origin, two channels on it');
  assert.equal((await status(a)).counters.relaySessionsIn, 1, 'the origin serves one relay session');

  // The first stream's last viewer leaves: its relay closes (after the linger), the session stays for the second.
  v1.close();
  await until('one channel left', async () => (await status(b)).relayLinks[0]?.channels === 1, 10_000);
  const n = v2.sizes.length;
  await until('the second stream still plays', () => v2.sizes.length > n + 30);
  assert.equal(v2.error, undefined);
  assert.equal((await status(a)).counters.relaySessionsIn, 1);

  // Its last viewer leaves too: the session closes with its last channel.
  v2.close();
  await until('no relay session left', async () => (await status(b)).relayLinks.length === 0 && (await status(a)).counters.relaySessionsIn === 0, 10_000);
});

test('junk and refused channels leave a relay session serving its other channels', async () => {
  const pub = new ClusterPublisher({ urls: [a.transportUrl('live', 'three')], videoBytes: 3000 });
  cleanup.push(() => pub.stop());
  await pub.start();
  const client = new Etcd3({ hosts: etcd.endpoints.map((h) => `http://${h}`) });
  cleanup.push(() => client.close());
  const rec = parseNodeRecord((await client.get('tributary/nodes/origin').string()) ?? '')!;
  await until('the origin owns live/three', async () => ((await status(a)) as unknown as { owned: string[] }).owned.includes('live/three'));

  const link = await RelayLink.connect(rec, 'probe', SECRET, 2000, () => undefined);
  cleanup.push(() => link.close('test over'));
  const got = new Map<number, string[]>();
  const open = (hello: Uint8Array) => {
    const ch: number = link.openChannel(hello, false, {
      onMessage: (m) => {
        let t = 'junk';
        try {
          t = decodeMessage(m).type;
        } catch {
          /* counted as junk */
        }
        got.set(ch, [...(got.get(ch) ?? []), t]);
      },
      onClosed: () => undefined,
    });
    return ch;
  };
  const before = (await status(a)).counters;
  open(new Uint8Array([0xff, 0x00, 0x13])); // not a message
  const notOwned = open(encodeHello('play', 'live', 'nobody-owns-this'));
  const badName = open(encodeHello('play', 'live', '..'));
  const good = open(encodeHello('play', 'live', 'three'));
  await until('the good channel gets frames', () => (got.get(good) ?? []).filter((t) => t === 'frame').length >= 20);
  assert.deepEqual(got.get(notOwned), ['refuse']);
  assert.deepEqual(got.get(badName), ['refuse']);
  assert.equal(got.get(good)![0], 'welcome');
  const after_ = (await status(a)).counters;
  assert.ok(after_.relayRefused! > before.relayRefused!, 'the not-owned hello is counted as a refused relay');
  assert.equal(link.isClosed, false, 'the session still serves');
});
