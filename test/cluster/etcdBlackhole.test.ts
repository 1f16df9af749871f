/**
 * etcd black-holed, not killed: every member's process is stopped (SIGSTOP) for 8 s, so the
 * nodes' connections stay open and their calls get no answer at all (no refused connection, no
 * reset: what a partitioned or frozen etcd host looks like). The running stream keeps playing
 * on the edge; route answers still come within a second (from the view for a known stream, a
 * clear 503 for one started since) instead of hanging on etcd; the nodes say etcd is not
 * answering; when the members run again the stream started meanwhile is claimed and relayed,
 * and the first viewer never had to reconnect.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OutageHarness, sleep } from './outageHarness.js';

const OUTAGE_MS = 8000;
let h: OutageHarness;

before(async () => {
  h = await OutageHarness.start('test-cluster-secret-etcd-blackhole', ['127.0.1.91', '127.0.1.92']);
});
after(async () => {
  for (const i of [0, 1, 2]) h?.etcd.resumeMember(i);
  await h?.stop();
});

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t0 };
}

test('etcd black-holed: streams keep playing, routes answer within a second, and the cluster recovers when etcd answers again', async () => {
  await h.publisher('cam').start();
  await h.until('the edge routes live/cam to the origin', async () => (await h.route(h.edge, 'cam')).body.node === 'origin');
  const cam = h.viewer('cam');
  await h.until('the edge viewer has video', () => cam.videoTimes.length > 10);

  const downAt = performance.now();
  for (const i of [0, 1, 2]) h.etcd.pauseMember(i);
  await h.publisher('late').start();
  await sleep(OUTAGE_MS);

  const seen = cam.videoTimes.length;
  await h.until('the edge viewer still gets frames', () => cam.videoTimes.length > seen + 10, 3000);
  const gap = cam.longestGap(downAt, performance.now());
  assert.ok(gap < 1000, `the running stream kept playing on the edge (longest gap ${Math.round(gap)} ms while etcd was black-holed)`);
  assert.equal(cam.ended, undefined, 'the edge viewer was not disconnected');

  const known = await timed(() => h.route(h.edge, 'cam'));
  assert.ok(known.ms < 1000, `a route answer does not wait on a silent etcd (${Math.round(known.ms)} ms)`);
  assert.equal(known.value.status, 200, JSON.stringify(known.value.body));
  assert.equal(known.value.body.node, 'origin', 'a stream in the view is still routed from it');
  const late = await timed(() => h.route(h.edge, 'late'));
  assert.ok(late.ms < 1000, `nor does a route answer for a stream the view does not know (${Math.round(late.ms)} ms)`);
  assert.equal(late.value.status, 503, JSON.stringify(late.value.body));
  assert.match(String(late.value.body.error), /etcd unreachable for \d+\.\d s/, 'a clear error naming etcd');
  const o = await timed(() => h.cluster(h.origin));
  assert.ok(o.ms < 1000, `/api/cluster answers while etcd is silent (${Math.round(o.ms)} ms)`);
  assert.ok(o.value.etcdUnreachableMs > OUTAGE_MS / 2, `/api/cluster says etcd has not answered for long (${o.value.etcdUnreachableMs} ms)`);

  for (const i of [0, 1, 2]) h.etcd.resumeMember(i);
  await h.until('the stream started while etcd was silent is routed', async () => (await h.route(h.edge, 'late')).body.node === 'origin', 25_000);
  const lateViewer = h.viewer('late');
  await h.until('the edge relays the late stream', () => lateViewer.videoTimes.length > 10, 10_000);
  await h.until('both nodes say etcd answers again', async () => (await h.cluster(h.origin)).etcdUnreachableMs === 0 && (await h.cluster(h.edge)).etcdUnreachableMs === 0, 10_000);
  await h.until('the origin owns the running stream again', async () => (await h.cluster(h.edge)).owners['live/cam']?.node === 'origin', 10_000);
  const whole = cam.longestGap(downAt, performance.now());
  assert.ok(whole < 1000, `the first viewer played through the black hole and the return (longest gap ${Math.round(whole)} ms)`);
  assert.equal(cam.ended, undefined, 'the first viewer never had to reconnect');
});
