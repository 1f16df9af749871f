/**
 * Every etcd member stopped, then started again, with real node processes (`serve --cluster`)
 * on a real 3-member etcd: the stream that was running keeps playing on the edge (media never
 * waits for etcd); route answers come from the view from before for a stream in it (with its
 * age) and are a clear 503 naming etcd for a stream started since; the nodes do not pile up
 * lease requests while etcd is away (one regrant loop, not one more per failed attempt); when
 * etcd is back the nodes register again under new leases, the stream started during the outage
 * is claimed, routed and relayed, and the first viewer never had to reconnect.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { getJson } from '../../src/bench/cluster/cluster.js';
import { parseNodeRecord } from '../../src/cluster/keys.js';
import { OutageHarness, sleep } from './outageHarness.js';

/** Longer than twice the lease TTL (2 s): the nodes' clients give their leases up and must get new ones. */
const OUTAGE_MS = 8000;
let h: OutageHarness;

before(async () => {
  h = await OutageHarness.start('test-cluster-secret-etcd-outage', ['127.0.1.81', '127.0.1.82']);
});
after(async () => {
  await h?.stop();
});

test('etcd down: streams and relays keep running, routes answer from the view or a clear 503; etcd back: nodes re-register and new streams route', async () => {
  await h.publisher('cam').start();
  await h.until('the edge routes live/cam to the origin', async () => (await h.route(h.edge, 'cam')).body.node === 'origin');
  const cam = h.viewer('cam');
  await h.until('the edge viewer has video', () => cam.videoTimes.length > 10);
  const grantsBefore = (await h.cluster(h.origin)).counters.leaseGrants!;

  // Every member goes at once.
  const downAt = performance.now();
  await Promise.all([0, 1, 2].map((i) => h.etcd.stopMember(i)));
  // A stream that starts now plays on its node, but the cluster cannot learn of it.
  await h.publisher('late').start();
  await sleep(OUTAGE_MS);

  const seen = cam.videoTimes.length;
  await h.until('the edge viewer still gets frames', () => cam.videoTimes.length > seen + 10, 3000);
  const outageGap = cam.longestGap(downAt, performance.now());
  assert.ok(outageGap < 1000, `the running stream kept playing on the edge (longest gap ${Math.round(outageGap)} ms while etcd was down)`);
  assert.equal(cam.ended, undefined, 'the edge viewer was not disconnected');

  const known = await h.route(h.edge, 'cam');
  assert.equal(known.status, 200, JSON.stringify(known.body));
  assert.equal(known.body.node, 'origin', 'a stream in the view is still routed from it');
  assert.ok(Number(known.body.viewAgeMs) > OUTAGE_MS / 2, `the answer says how old the view is (${String(known.body.viewAgeMs)} ms)`);
  const late = await h.route(h.edge, 'late');
  assert.equal(late.status, 503, JSON.stringify(late.body));
  assert.match(String(late.body.error), /etcd unreachable for \d+\.\d s/, 'a stream the view does not know is a clear error naming etcd, not a 404');
  const o = await h.cluster(h.origin);
  assert.ok(o.etcdUnreachableMs > OUTAGE_MS / 2, `/api/cluster says for how long etcd has not answered (${o.etcdUnreachableMs} ms)`);
  // One regrant loop retrying every 500 ms (the lease is given up ~4 s into the outage); with a
  // loop started per failed grant this was 2^(seconds * 2).
  const grants = o.counters.leaseGrants! - grantsBefore;
  assert.ok(grants <= (OUTAGE_MS / 500) + 2, `lease grants while etcd was down: ${grants}`);

  // etcd comes back (every member on its data dir).
  await Promise.all([0, 1, 2].map((i) => h.etcd.restartMember(i)));
  const upAt = performance.now();
  await h.until('the stream started during the outage is routed', async () => (await h.route(h.edge, 'late')).body.node === 'origin', 20_000);
  const lateViewer = h.viewer('late');
  await h.until('the edge relays the late stream', () => lateViewer.videoTimes.length > 10, 10_000);
  await h.until('both nodes say etcd answers again', async () => (await h.cluster(h.origin)).etcdUnreachableMs === 0 && (await h.cluster(h.edge)).etcdUnreachableMs === 0, 10_000);

  // Registered again: each record sits under a lease of its node's that etcd keeps alive, not the
  // old one the clients gave up (which etcd revives for a TTL after an election, then drops).
  const client = new Etcd3({ hosts: h.etcd.endpoints.map((h) => `http://${h}`) });
  h.onStop(() => client.close());
  await sleep(4000);
  for (const id of ['origin', 'edge']) {
    const kv = (await client.getAll().prefix(`tributary/nodes/${id}`).exec()).kvs[0];
    assert.ok(kv && parseNodeRecord(kv.value.toString())?.id === id, `${id} has a record after etcd came back`);
    const lease = await client.leaseClient.leaseTimeToLive({ ID: kv.lease });
    assert.ok(Number(lease.TTL) > 0, `${id}'s record is bound to a live lease (${String(lease.TTL)} s left)`);
  }
  assert.ok((await h.cluster(h.origin)).counters.leaseGrants! > grantsBefore, 'the origin took a new lease');
  const owner = (await getJson(`${h.edge.httpBase}/api/cluster`)).body.owners as Record<string, { node: string }>;
  assert.equal(owner['live/cam']?.node, 'origin', 'the origin owns the running stream again, under its new lease');

  const whole = cam.longestGap(downAt, performance.now());
  assert.ok(whole < 1000, `the first viewer played through the outage and the return (longest gap ${Math.round(whole)} ms; etcd back ${Math.round(upAt - downAt)} ms after it went)`);
  assert.equal(cam.ended, undefined, 'the first viewer never had to reconnect');
});
