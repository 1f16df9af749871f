/**
 * Processing jobs in a cluster, with a real etcd, two real node processes and real ffmpeg: a
 * stream is published on node A (which also has viewers, so it is the more loaded); a transcode
 * job made through node B's API is stored in etcd and claimed by B, which pulls the input from A
 * by relay; its output plays on A. A PATCH on A reaches B; garbage written under the jobs prefix
 * is skipped and counted. B is killed -9: its lease ends, A claims the job and the output plays
 * on again. A DELETE on A stops it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type ClientRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { FlvDemuxer } from '../../src/media/flv/FlvDemuxer.js';
import { EtcdCluster } from '../../src/cluster/testing/EtcdCluster.js';
import { NodeProcess } from '../../src/cluster/testing/NodeProcess.js';
import { apiAt } from '../processing/helpers.js';

const SECRET = 'test-cluster-secret-0123456789';
let etcd: EtcdCluster;
let a: NodeProcess;
let b: NodeProcess;
let push: ChildProcess | undefined;
const cleanup: (() => void)[] = [];

before(async () => {
  etcd = await EtcdCluster.start({ size: 1 });
  [a, b] = await Promise.all([
    NodeProcess.start({ id: 'na', region: 'eu', host: '127.0.1.41', etcdUrl: etcd.url, secret: SECRET, logLevel: 'info' }),
    NodeProcess.start({ id: 'nb', region: 'eu', host: '127.0.1.42', etcdUrl: etcd.url, secret: SECRET, logLevel: 'info' }),
  ]);
});
after(async () => {
  for (const c of cleanup.reverse()) c();
  push?.kill('SIGKILL');
  await Promise.all([a?.stop(), b?.stop()]);
  await etcd?.stop();
});

const call = apiAt;

async function until<T>(what: string, ok: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(ok).catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) {
      const lines = [a, b].flatMap((n) => n.log().split('\n').filter((l) => /cluster|job/.test(l)).map((l) => `${n.id}: ${l.slice(0, 300)}`));
      throw new Error(`timed out waiting for ${what}\n${lines.slice(-40).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** An HTTP-FLV viewer through the project's demuxer: the arrival time of each video frame, and the heights of the video configs. */
function flv(url: string): { frames: number[]; heights: number[]; ended: () => boolean } {
  const frames: number[] = [];
  const heights: number[] = [];
  const demuxer = new FlvDemuxer();
  let done = false;
  const req: ClientRequest = request(url, { agent: false }, (res) => {
    if (res.statusCode !== 200) {
      done = true;
      return void res.resume();
    }
    res.on('data', (c: Buffer) => {
      for (const o of demuxer.push(c)) {
        if (o.type === 'frame' && o.frame.kind === 'video') frames.push(Date.now());
        if (o.type === 'config' && o.config.height !== undefined) heights.push(o.config.height);
      }
    });
    res.on('end', () => (done = true));
    res.on('error', () => (done = true));
  });
  req.on('error', () => (done = true));
  req.end();
  cleanup.push(() => req.destroy());
  return { frames, heights, ended: () => done };
}

const job = { id: 't1', input: { stream: 'live/cam' }, outputs: [{ stream: 'live/low', height: 90, kbps: 150 }], fps: 15, gopSeconds: 1, preset: 'ultrafast' };

test('a job made on any node runs on the least-loaded one, plays everywhere, takes PATCH and DELETE anywhere, and moves when its node dies', { timeout: 90_000 }, async () => {
  push = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '80', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'flv', `rtmp://127.0.1.41:${a.rtmpPort}/live/cam`,
  ], { stdio: 'ignore' });
  await until('B sees A own live/cam', async () => (await call(b.httpBase, 'GET', '/api/cluster')).body.owners?.['live/cam']?.node === 'na');

  // Before anything: refusals name what is wrong, and nothing is stored.
  const bad = await call(b.httpBase, 'POST', '/api/jobs', { ...job, outputs: [{ stream: 'nope', height: 91, kbps: 1 }] });
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.match(bad.body.problems.join('\n'), /outputs\.0\.height/);
  const missing = await call(b.httpBase, 'POST', '/api/jobs', { ...job, id: 'm', input: { stream: 'live/none' } });
  assert.equal(missing.status, 422);
  assert.match(missing.body.error, /live\/none is not a live stream of the cluster/);
  const taken = await call(b.httpBase, 'POST', '/api/jobs', { ...job, id: 'x', outputs: [{ stream: 'live/cam', height: 90, kbps: 150 }] });
  assert.equal(taken.status, 409, JSON.stringify(taken.body));

  // A carries the stream and three viewers: B is the less loaded node once both records say so.
  for (let i = 0; i < 3; i++) flv(`${a.httpBase}/live/cam.flv`);
  // Polled on A, not B: B's CPU figure (its last second) should be its idle one when it ranks the nodes.
  await until('A\'s record shows its viewers', async () => (await call(a.httpBase, 'GET', '/api/cluster')).body.nodes?.find((n: any) => n.id === 'na')?.load.viewers >= 3);
  await new Promise((r) => setTimeout(r, 1500));
  const views = await Promise.all([a, b].map(async (n) => (await call(n.httpBase, 'GET', '/api/cluster')).body.nodes.map((r: any) => ({ id: r.id, load: r.load }))));

  const created = await call(b.httpBase, 'POST', '/api/jobs', job);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.node, 'nb', `the less loaded node claims it: ${JSON.stringify(created.body)}; records just before, as A and B saw them: ${JSON.stringify(views)}`);
  const onA = await until('A lists t1 running on B', async () => {
    const r = await call(a.httpBase, 'GET', '/api/jobs');
    const j = r.body.jobs.find((x: any) => x.id === 't1');
    return j?.node === 'nb' && j.state === 'running' ? j : undefined;
  });
  assert.equal(onA.outputs[0], 'live/low');

  // The output, made on B from the relayed input, plays on A (relayed back).
  const out = flv(`${a.httpBase}/live/low.flv`);
  await until('output frames on A', () => out.frames.length >= 15);
  assert.equal(out.heights[0], 90);

  // PATCH on A reaches the owner B through the stored spec.
  const p = await call(a.httpBase, 'PATCH', '/api/jobs/t1', { outputs: [{ stream: 'live/low', height: 120, kbps: 150 }] });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  const badPatch = await call(a.httpBase, 'PATCH', '/api/jobs/t1', { outputs: [{ stream: 'live/other', height: 120, kbps: 150 }] });
  assert.equal(badPatch.status, 422);
  await until('B restarted t1 with the patch', async () => {
    const j = (await call(b.httpBase, 'GET', '/api/jobs/t1')).body;
    return j.node === 'nb' && j.restarts >= 1 && j.spec.outputs[0].height === 120 && j.state === 'running';
  });
  await until('the patched size reaches the viewer on A', () => out.heights.includes(120));

  // Garbage under the jobs prefix: skipped and counted, nobody crashes, nothing runs it.
  const client = new Etcd3({ hosts: etcd.endpoints.map((h) => `http://${h}`) });
  cleanup.push(() => client.close());
  await client.put('tributary/jobs/spec/evil').value('{"v":1,"kind":"transcode","spec":{"input":{"url":"pipe:0"}}');
  await client.put('tributary/jobs/spec/huge').value('x'.repeat(100_000));
  await client.put('tributary/jobs/owner/t9').value('\u0000garbage');
  await client.put('tributary/jobs/what/ever').value('1');
  await until('both nodes counted the bad values', async () => {
    const [ra, rb] = await Promise.all([call(a.httpBase, 'GET', '/api/jobs'), call(b.httpBase, 'GET', '/api/jobs')]);
    return ra.body.counters.badValues >= 4 && rb.body.counters.badValues >= 4 && ra.body.jobs.length === 1;
  });
  const cluster = (await call(a.httpBase, 'GET', '/api/cluster')).body;
  assert.equal(cluster.counters.badRecords, 0, 'the cluster view leaves the jobs prefix to the job watch');

  // B dies without leaving: its lease runs out, A claims the job and the output plays on.
  const killedAt = Date.now();
  await b.kill();
  const moved = await until('A claims t1', async () => {
    const j = (await call(a.httpBase, 'GET', '/api/jobs/t1')).body;
    return j.node === 'na' ? Date.now() : undefined;
  }, 20_000);
  const running = await until('t1 running on A', async () => ((await call(a.httpBase, 'GET', '/api/jobs/t1')).body.state === 'running' ? Date.now() : undefined), 20_000);
  const n = out.frames.length;
  let resumedAt: number | undefined;
  if (!out.ended()) {
    await until('the viewer on A gets frames again', () => out.frames.length > n + 15 || out.ended(), 15_000);
    // The frame after the longest silence since the kill (frames in flight from B arrive just after it).
    let gap = 0;
    for (let i = 1; i < out.frames.length; i++) {
      if (out.frames[i]! > killedAt && out.frames[i]! - out.frames[i - 1]! > gap) {
        gap = out.frames[i]! - out.frames[i - 1]!;
        resumedAt = out.frames[i]!;
      }
    }
  }
  const fresh = flv(`${a.httpBase}/live/low.flv`);
  await until('a new viewer on A plays the moved output', () => fresh.frames.length >= 15);
  assert.equal(fresh.heights[0], 120, 'the moved job runs the patched spec');
  console.log(`job move: kill -9 of B -> A claimed ${moved - killedAt} ms, running ${running - killedAt} ms, viewer on A ${resumedAt === undefined ? 'cut (a new viewer played)' : `resumed ${resumedAt - killedAt} ms after the kill`}`);
  const list = (await call(a.httpBase, 'GET', '/api/jobs')).body;
  assert.equal(list.counters.moves, 1, `${JSON.stringify(list.counters)}\n${a.log().split('\n').filter((l) => /cluster-jobs/.test(l)).join('\n')}`);

  // DELETE on A stops it where it runs.
  const del = await call(a.httpBase, 'DELETE', '/api/jobs/t1');
  assert.deepEqual(del.body, { deleted: 't1', node: 'na', stopped: true });
  assert.equal((await call(a.httpBase, 'GET', '/api/jobs/t1')).status, 404);
  assert.equal((await client.get('tributary/jobs/owner/t1').string()) ?? null, null);

  // Two jobs with one output stored at once (both checks pass before either sees the other): the one stored first runs, the other is never claimed.
  const c = await NodeProcess.start({ id: 'nc', region: 'eu', host: '127.0.1.43', etcdUrl: etcd.url, secret: SECRET, logLevel: 'info' });
  cleanup.push(() => void c.stop());
  await until('A sees C', async () => (await call(a.httpBase, 'GET', '/api/cluster')).body.nodes?.some((x: any) => x.id === 'nc'));
  const dup = (id: string) => ({ ...job, id, outputs: [{ stream: 'live/dup', height: 90, kbps: 150 }] });
  const [d1, d2] = await Promise.all([call(a.httpBase, 'POST', '/api/jobs', dup('d1')), call(c.httpBase, 'POST', '/api/jobs', dup('d2'))]);
  const stored = [d1, d2].filter((r) => r.status === 201).length;
  console.log(`same output posted on A and C at once: ${d1.status} ${d2.status}`);
  assert.ok(stored >= 1, `${d1.status} ${d2.status}`);
  const settled = await until('one of d1, d2 runs', async () => {
    const jobs = (await call(c.httpBase, 'GET', '/api/jobs')).body.jobs.filter((x: any) => x.id === 'd1' || x.id === 'd2');
    const running = jobs.filter((x: any) => x.state === 'running').length;
    return jobs.length === stored && running === 1 && jobs.filter((x: any) => x.state === 'failed').length === stored - 1 ? jobs : undefined;
  });
  if (stored === 2) assert.match(settled.find((x: any) => x.state !== 'running').reason, /output live\/dup is published by job d[12] \(stored first\)/);
  // C (no viewers, no streams) runs it. A clean stop of C hands it over at once: C stops it and drops its key before it leaves.
  const runner = settled.find((x: any) => x.state === 'running');
  assert.equal(runner.node, 'nc', JSON.stringify(settled));
  const stoppedAt = Date.now();
  await c.stop();
  const handed = await until('A runs the job C ran', async () => {
    const j = (await call(a.httpBase, 'GET', `/api/jobs/${runner.id}`)).body;
    return j.node === 'na' && j.state === 'running' ? Date.now() : undefined;
  });
  console.log(`clean stop of C -> job running on A after ${handed - stoppedAt} ms`);
  for (const id of ['d1', 'd2']) await call(a.httpBase, 'DELETE', `/api/jobs/${id}`);
  assert.equal((await call(a.httpBase, 'GET', '/api/jobs')).body.jobs.length, 0);
});
