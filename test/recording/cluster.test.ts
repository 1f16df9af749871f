/**
 * Second recordings with real node processes and a real 3-member etcd: the owner records its
 * publisher's stream, the replica (record.replicas 2) relays and records it too; after a kill -9
 * of the owner and the publisher's return on the replica's node within the grace, the
 * replica's recording goes on in the same index (a gap line) and both nodes' segments play.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EtcdCluster } from '../../src/cluster/testing/EtcdCluster.js';
import { NodeProcess } from '../../src/cluster/testing/NodeProcess.js';
import { pushRtmp, stop, waitFor } from '../server/http/tools.js';
import { probe, readIndex, segmentsOf, type IndexEntry } from './tools.js';

const SECRET = 'test-cluster-secret-0123456789';
const root = mkdtempSync(join(tmpdir(), 'trib-rec-cluster-'));
let etcd: EtcdCluster;
let a: NodeProcess;
let b: NodeProcess;
const pushes: ReturnType<typeof pushRtmp>[] = [];

before(async () => {
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify({
    webrtc: { enabled: false }, publisherGraceMs: 8000,
    apps: { live: { record: { path: join(root, '{node}/{app}/{key}'), segmentSeconds: 2, replicas: 2 } } },
  }));
  etcd = await EtcdCluster.start();
  [a, b] = await Promise.all([
    NodeProcess.start({ id: 'origin', region: 'eu', host: '127.0.1.71', etcdUrl: etcd.url, secret: SECRET, logLevel: 'info', args: ['--config', config] }),
    NodeProcess.start({ id: 'replica', region: 'eu', host: '127.0.1.72', etcdUrl: etcd.url, secret: SECRET, logLevel: 'info', args: ['--config', config] }),
  ]);
});
after(async () => {
  for (const p of pushes) await stop(p);
  await Promise.all([a?.stop(), b?.stop()]);
  await etcd?.stop();
  rmSync(root, { recursive: true, force: true });
});

const segmentsIn = (dir: string) => (existsSync(join(dir, 'index.jsonl')) ? segmentsOf(readIndex(dir)) : []);

async function playable(dir: string, index: IndexEntry[]): Promise<void> {
  for (const s of segmentsOf(index)) {
    const p = await probe(join(dir, s.file));
    assert.deepEqual(p.codecs, { video: 'h264', audio: 'aac' }, `${dir}/${s.file}`);
    assert.ok(p.video.keyFirst && p.video.count > 0, `${dir}/${s.file} starts on a keyframe`);
  }
}

test('a replica records the owner\'s stream too, and after the owner dies its recording goes on in one index when the publisher comes back there', async () => {
  const originDir = join(root, 'origin/live/cam');
  const replicaDir = join(root, 'replica/live/cam');
  pushes.push(pushRtmp(`rtmp://127.0.1.71:${a.rtmpPort}/live/cam`, 60));
  await waitFor('both nodes recorded two segments', () => (segmentsIn(originDir).length >= 2 && segmentsIn(replicaDir).length >= 2 ? true : undefined), 30_000);
  const killedAt = Date.now();
  await a.kill();
  await stop(pushes[0]!);
  // The publisher comes back on the replica's node within the grace (a backup, a reconnect).
  pushes.push(pushRtmp(`rtmp://127.0.1.72:${b.rtmpPort}/live/cam`, 4));
  await new Promise((r) => pushes[1]!.once('exit', r));
  const resumedWithin = Date.now() - killedAt;
  await b.stop(); // a clean shutdown ends the recording with its end line

  const origin = readIndex(originDir);
  assert.ok(!origin.some((e) => e.type === 'end'), 'the killed origin never finished');
  await playable(originDir, origin);
  const replica = readIndex(replicaDir);
  assert.equal(replica.filter((e) => e.type === 'start').length, 1, 'one recording on the replica');
  assert.equal(replica.at(-1)!.type, 'end');
  const gaps = replica.filter((e) => e.type === 'gap') as { gapMs: number; afterDts: number; resumeDts: number }[];
  assert.equal(gaps.length, 1, JSON.stringify(replica.filter((e) => e.type !== 'segment')));
  assert.ok(gaps[0]!.gapMs < resumedWithin, `gap ${gaps[0]!.gapMs} ms, publisher back within ${resumedWithin} ms`);
  const segs = segmentsOf(replica);
  for (let i = 1; i < segs.length; i++) assert.ok(segs[i]!.firstDts >= segs[i - 1]!.lastDts, 'timestamps rise across the relay and the local publisher');
  assert.ok(segs.some((s) => s.firstDts >= gaps[0]!.resumeDts), 'segments after the gap, from the local publisher');
  await playable(replicaDir, replica);
});
