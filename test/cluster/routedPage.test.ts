/**
 * The player page in a cluster (real Chromium, real node processes, real 3-member etcd, ffmpeg
 * pushing over RTMP): opened on the origin with `?route=1&region=us`, the page stays there and
 * plays its media from the us edge the route names; when that edge is killed -9 the page asks
 * again, naming the lost edge in `avoid=`, and plays from the origin without a reload, although
 * the dead edge is still in the cluster's view (its lease has not run out yet).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PageViewer, pushTestPattern } from '../../src/bench/cluster/pageViewer.js';
import { EtcdCluster } from '../../src/cluster/testing/EtcdCluster.js';
import { NodeProcess } from '../../src/cluster/testing/NodeProcess.js';

const SECRET = 'test-cluster-secret-0123456789';
let etcd: EtcdCluster;
let origin: NodeProcess;
let edge: NodeProcess;
const cleanup: (() => Promise<void> | void)[] = [];

before(async () => {
  etcd = await EtcdCluster.start();
  [origin, edge] = await Promise.all([
    NodeProcess.start({ id: 'origin', region: 'eu', host: '127.0.1.101', etcdUrl: etcd.url, secret: SECRET }),
    NodeProcess.start({ id: 'edge', region: 'us', host: '127.0.1.102', etcdUrl: etcd.url, secret: SECRET }),
  ]);
});
after(async () => {
  for (const c of cleanup.reverse()) await c();
  await Promise.all([origin?.stop(), edge?.stop()]);
  await etcd?.stop();
});

async function until(what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the routed player page plays from the edge its route names and moves to another node when that edge dies', async () => {
  const ffmpeg = pushTestPattern(`rtmp://127.0.1.101:${origin.rtmpPort}/live/page`);
  cleanup.push(() => void ffmpeg.kill('SIGKILL'));
  await until('the edge routes to the stream', async () => (await fetch(`${edge.httpBase}/api/route?app=live&key=page&region=us`)).status === 200, 20_000);

  const page = await PageViewer.open(`${origin.httpBase}/play/live/page?route=1&region=us&proto=ws-flv`);
  cleanup.push(() => page.close());
  await until('the page plays', async () => (await page.playingOn()) !== undefined, 30_000);
  assert.equal(await page.playingOn(), 'edge', 'a us viewer plays from the us edge');

  const killAt = Date.now();
  await edge.kill();
  await until('the page plays again', async () => (await page.resumedAfter(killAt, 'edge')) !== undefined, 20_000);
  assert.equal(await page.playingOn(), 'origin');
  // The dead edge stays in the view until its lease runs out (~2 s): without avoid= the page
  // would be sent back to it until then. (How fast it resumes is `bench cluster --scenario edge-kill`'s.)
  const conns = await page.connections();
  assert.ok(conns.filter((c) => c.node === 'edge').every((c) => c.startedAt < killAt), `no connection to the dead edge after the kill: ${JSON.stringify(conns)}`);
});
