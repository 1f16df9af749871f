/**
 * A cluster job's node loses etcd (the member is stopped with SIGSTOP: a black hole, nothing
 * answers): past the point where its lease may have ended it stops the job, since another node
 * could be running it by then; when etcd answers again the job is placed again and its output
 * plays on. Real etcd, a real node process, real ffmpeg.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request, type ClientRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { FlvDemuxer } from '../../src/media/flv/FlvDemuxer.js';
import { EtcdCluster } from '../../src/cluster/testing/EtcdCluster.js';
import { NodeProcess } from '../../src/cluster/testing/NodeProcess.js';
import { apiAt } from '../processing/helpers.js';

let etcd: EtcdCluster;
let a: NodeProcess;
let push: ChildProcess | undefined;
const cleanup: (() => void)[] = [];

before(async () => {
  etcd = await EtcdCluster.start({ size: 1 });
  a = await NodeProcess.start({ id: 'solo', region: 'eu', host: '127.0.1.45', etcdUrl: etcd.url, secret: 'test-cluster-secret-0123456789', logLevel: 'info' });
});
after(async () => {
  for (const c of cleanup.reverse()) c();
  push?.kill('SIGKILL');
  etcd?.resumeMember(0);
  await a?.stop();
  await etcd?.stop();
});

const call = (method: string, path: string, body?: unknown) => apiAt(a.httpBase, method, path, body);

async function until<T>(what: string, ok: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(ok).catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${a.log().split('\n').filter((l) => /cluster|job/.test(l)).slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function frames(url: string): number[] {
  const at: number[] = [];
  const demuxer = new FlvDemuxer();
  const req: ClientRequest = request(url, { agent: false }, (res) => {
    res.on('data', (c: Buffer) => {
      for (const o of demuxer.push(c)) if (o.type === 'frame' && o.frame.kind === 'video') at.push(Date.now());
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  req.end();
  cleanup.push(() => req.destroy());
  return at;
}

test('a node cut off from etcd stops its cluster jobs; once etcd answers the job runs again', { timeout: 60_000 }, async () => {
  push = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=15',
    '-t', '60', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p', '-f', 'flv', `rtmp://127.0.1.45:${a.rtmpPort}/live/cam`,
  ], { stdio: 'ignore' });
  await until('the node owns live/cam', async () => (await call('GET', '/api/cluster')).body.owners?.['live/cam']?.node === 'solo');
  const created = await call('POST', '/api/jobs', { id: 'j', input: { stream: 'live/cam' }, outputs: [{ stream: 'live/out', height: 90, kbps: 150 }], fps: 15, preset: 'ultrafast' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await until('j running', async () => (await call('GET', '/api/jobs/j')).body.state === 'running');
  const seen = frames(`${a.httpBase}/live/out.flv`);
  await until('output frames', () => seen.length >= 10);

  etcd.pauseMember(0);
  const pausedAt = Date.now();
  const stopped = await until('the job stopped for lack of etcd', async () => ((await call('GET', '/api/jobs')).body.counters.stoppedNoEtcd >= 1 ? Date.now() : undefined));
  // Its output is no longer made: no frame after a moment for the last ones in flight.
  await new Promise((r) => setTimeout(r, 1000));
  const n = seen.length;
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(seen.length, n, 'no output frames while the job is stopped');
  // While etcd is away the API refuses what needs it, with a clear error, and keeps answering GET.
  assert.equal((await call('GET', '/api/jobs')).status, 200);
  const refused = await call('POST', '/api/jobs', { id: 'k', input: { stream: 'live/cam' }, outputs: [{ stream: 'live/k', height: 90, kbps: 150 }] });
  assert.equal(refused.status, 503, JSON.stringify(refused.body));
  assert.match(refused.body.error, /etcd did not answer/);

  etcd.resumeMember(0);
  const resumedAt = Date.now();
  await until('j running again', async () => {
    const j = (await call('GET', '/api/jobs/j')).body;
    return j.node === 'solo' && j.state === 'running' && (await call('GET', '/api/jobs')).body.counters.claims >= 2;
  }, 30_000);
  const m = seen.length;
  const fresh = frames(`${a.httpBase}/live/out.flv`);
  await until('output frames again', () => fresh.length >= 10 || seen.length > m + 10);
  console.log(`etcd paused: job stopped after ${stopped - pausedAt} ms; etcd back: output again ${Date.now() - resumedAt} ms later`);
});
