/**
 * Relays and routing with real node processes (`tributary serve --cluster`) and a real 3-member
 * etcd: an HTTP-FLV viewer on an edge gets the frames published on the origin; route answers
 * come from the view; when the publisher moves to another node, ownership moves and both the
 * edge's viewer and the old origin's viewer keep receiving without reconnecting; a stale owner
 * refuses to serve a relay, and a relay without the cluster secret is refused and counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ClusterPublisher } from '../../src/bench/cluster/publisher.js';
import { FlvViewer } from '../../src/bench/fanout/viewers.js';
import { parseNodeRecord } from '../../src/cluster/keys.js';
import { Relay } from '../../src/cluster/Relay.js';
import { Registry } from '../../src/server/Registry.js';
import { EtcdCluster } from '../../src/cluster/testing/EtcdCluster.js';
import { NodeProcess } from '../../src/cluster/testing/NodeProcess.js';
import { Etcd3 } from 'etcd3';

const SECRET = 'test-cluster-secret-0123456789';
let etcd: EtcdCluster;
let a: NodeProcess;
let b: NodeProcess;
const cleanup: (() => Promise<void> | void)[] = [];

before(async () => {
  etcd = await EtcdCluster.start();
  // The origin's CIDR table: viewers from 127.0.2.0/24 are in region us (no proxy header).
  const config = join(mkdtempSync(join(tmpdir(), 'tributary-relay-test-')), 'origin.json');
  writeFileSync(config, JSON.stringify({ cluster: { addressRegions: [{ cidr: '127.0.2.0/24', region: 'us' }, { cidr: '127.0.0.0/8', region: 'eu' }] } }));
  [a, b] = await Promise.all([
    NodeProcess.start({ id: 'origin', region: 'eu', host: '127.0.1.21', etcdUrl: etcd.url, secret: SECRET, logLevel: 'info', args: ['--config', config] }),
    NodeProcess.start({ id: 'edge', region: 'us', host: '127.0.1.22', etcdUrl: etcd.url, secret: SECRET, logLevel: 'info' }),
  ]);
});
after(async () => {
  for (const c of cleanup.reverse()) await c();
  await Promise.all([a?.stop(), b?.stop()]);
  await etcd?.stop();
});

function get(url: string, headers: Record<string, string> = {}, localAddress?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Waits for a condition; on a time-out the nodes' cluster log lines go into the error (the nodes log at info). */
async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) {
      const lines = [a, b].flatMap((n) => n.log().split('\n').filter((l) => /"cluster|transport: (publish|play)/.test(l)).map((l) => `${n.id}: ${l.slice(0, 240)}`));
      throw new Error(`timed out waiting for ${what}\n${lines.slice(-40).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Video frame ids a viewer got, in order, with when. */
function viewer(url: string) {
  const got: { id: number; at: number }[] = [];
  const v = new FlvViewer(url, () => undefined, { from: 0, until: 0 }, (id, kind, at) => kind === 'video' && got.push({ id, at }));
  cleanup.push(() => v.close());
  return { v, got };
}

test('an edge relays from the owner; routes answer from the view; viewers follow an ownership move; stale owners and secretless relays are refused', async () => {
  const pub = new ClusterPublisher({ urls: [a.transportUrl('live', 'cam'), b.transportUrl('live', 'cam')] });
  cleanup.push(() => pub.stop());
  await pub.start();

  // The edge learns the owner through its watch; its route answer names the owner for an EU viewer.
  await until('the edge routes eu viewers to the origin', async () => {
    const r = await get(`${b.httpBase}/api/route?app=live&key=cam&region=eu`);
    return r.status === 200 && JSON.parse(r.body).node === 'origin';
  });
  const unknown = await get(`${b.httpBase}/api/route?app=live&key=nothing`);
  assert.equal(unknown.status, 404, unknown.body);
  assert.equal((await get(`${b.httpBase}/api/route?app=../x&key=cam`)).status, 400);

  // An HTTP-FLV viewer on the edge: the edge relays from the origin and serves from its own stream.
  const onEdge = viewer(`${b.httpBase}/live/cam.flv`);
  const onOrigin = viewer(`${a.httpBase}/live/cam.flv`);
  await until('the edge viewer has 30 frames', () => onEdge.got.length >= 30);
  assert.equal(onEdge.v.stats.error, undefined);
  const sent = [...pub.sentAt.keys()];
  for (const f of onEdge.got) assert.ok(pub.sentAt.has(f.id), `frame ${f.id} came from the publisher`);
  assert.ok(sent.length > 0);

  // The edge now carries the stream: a US viewer is routed to it, and ?route=1 redirects an EU viewer to the origin.
  await until('a us viewer is routed to the edge', async () => JSON.parse((await get(`${a.httpBase}/api/route?app=live&key=cam`, { 'x-tributary-region': 'us' })).body).node === 'edge');
  // Without the header, the origin's CIDR table places a viewer by its address; the header wins over it.
  assert.equal(JSON.parse((await get(`${a.httpBase}/api/route?app=live&key=cam`, {}, '127.0.2.7')).body).node, 'edge', 'a viewer from 127.0.2.0/24 is in us');
  assert.equal(JSON.parse((await get(`${a.httpBase}/api/route?app=live&key=cam`, {}, '127.0.3.7')).body).node, 'origin', 'a viewer from elsewhere in 127/8 is in eu');
  assert.equal(JSON.parse((await get(`${a.httpBase}/api/route?app=live&key=cam`, { 'x-tributary-region': 'eu' }, '127.0.2.7')).body).node, 'origin', 'the proxy header comes before the table');
  const redirect = await get(`${b.httpBase}/live/cam.flv?route=1&region=eu`);
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.location, `${a.httpBase}/live/cam.flv?region=eu`);
  // A viewer that just lost a node names it: another node is chosen, even out of its region,
  // and the redirect does not pass `avoid` on.
  assert.equal(JSON.parse((await get(`${a.httpBase}/api/route?app=live&key=cam&region=us&avoid=edge`)).body).node, 'origin', 'avoid=edge sends a us viewer to the origin');
  const avoided = await get(`${a.httpBase}/live/cam.flv?route=1&region=eu&avoid=origin`);
  assert.equal(avoided.status, 302);
  assert.equal(avoided.headers.location, `${b.httpBase}/live/cam.flv?region=eu`);
  // The player page is not redirected: it routes its media itself.
  assert.equal((await get(`${b.httpBase}/play/live/cam?route=1&region=eu`)).status, 200);

  // A relay without the cluster secret: its handshake cannot finish; the node counts it (checked below, after the handshake timeout).
  const client = new Etcd3({ hosts: etcd.endpoints.map((h) => `http://${h}`) });
  cleanup.push(() => client.close());
  const rec = (id: string) => client.get(`tributary/nodes/${id}`).string().then((t) => parseNodeRecord(t ?? '')!);
  const reg = new Registry();
  cleanup.push(() => reg.close());
  const originRec = await rec('origin');
  const intruder = new Relay({ stream: reg.app('live').stream('cam'), owner: originRec, self: 'intruder', secret: 'not-the-cluster-secret!!', newestToken: () => 0, latencyMs: 600, onEnd: () => undefined });
  await assert.rejects(intruder.open(1500));

  // A planned move: the publisher leaves the origin for the edge node. Ownership moves; the edge
  // viewer now gets the local publisher, the origin's viewer is relayed from the new owner.
  const n1 = { edge: onEdge.got.length, origin: onOrigin.got.length };
  await pub.moveToNext();
  await until('the edge owns the stream', async () => JSON.parse((await get(`${a.httpBase}/api/route?app=live&key=cam`)).body).owner === 'edge', 15_000);
  await until('both viewers get frames again', () => onEdge.got.length > n1.edge + 30 && onOrigin.got.length > n1.origin + 30, 15_000);
  assert.equal(onEdge.v.stats.error, undefined, 'the edge viewer was not disconnected');
  assert.equal(onOrigin.v.stats.error, undefined, 'the origin viewer was not disconnected');
  const originStatus = JSON.parse((await get(`${a.httpBase}/api/cluster`)).body) as { relays: { owner: string }[] };
  assert.deepEqual(originStatus.relays.map((r) => r.owner), ['edge'], 'the old origin relays from the new owner');

  // kill -9 of the new owner: its lease runs out, the publisher reconnects to its other address,
  // and the origin's viewer (relayed until now) gets the local publisher without reconnecting.
  const n2 = onOrigin.got.length;
  onEdge.v.close();
  await b.kill();
  await until('the origin owns the stream again', async () => JSON.parse((await get(`${a.httpBase}/api/route?app=live&key=cam`)).body).owner === 'origin', 15_000);
  await until('the origin viewer gets frames again', () => onOrigin.got.length > n2 + 30, 15_000);
  assert.equal(onOrigin.v.stats.error, undefined, 'the origin viewer was not disconnected');
  const last = onOrigin.got.at(-1)!.id;
  assert.ok(pub.sentAt.has(last) && last > onOrigin.got[n2 - 1]!.id, 'new frames, from the publisher');

  const status = async () => JSON.parse((await get(`${a.httpBase}/api/cluster`)).body) as { counters: Record<string, number> };
  await until('the edge counted the secretless relay', async () => (await status()).counters.relayRefused! >= 1, 12_000);

  // A stale owner: a relay whose edge has seen a newer token than the owner's welcome drops it.
  const staleLive = new Relay({ stream: reg.app('live').stream('cam'), owner: originRec, self: 'probe', secret: SECRET, newestToken: () => Number.MAX_SAFE_INTEGER, latencyMs: 600, onEnd: () => undefined });
  await assert.rejects(staleLive.open(2000), /stale owner/);
  // A node that does not own a stream refuses to relay it.
  const before = (await status()).counters.relayRefused!;
  const notOwner = new Relay({ stream: reg.app('live').stream('other'), owner: originRec, self: 'probe', secret: SECRET, newestToken: () => 0, latencyMs: 600, onEnd: () => undefined });
  await assert.rejects(notOwner.open(2000), /not the owner/);
  await until('the refusal is counted', async () => (await status()).counters.relayRefused! > before, 3000);
});
