import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/node/config.js';
import { createNode, type MediaNode } from '../../src/node/createNode.js';
import { createLogger } from '../../src/server/log.js';
import type { Server } from '../../src/server/Server.js';
import type { TranscodeJob } from '../../src/processing/TranscodeJob.js';
import { api, pushPattern, stop, waitFor } from './helpers.js';

let server: Server;
/** The server with its processing and recording parts (src/node/). */
let node: MediaNode;
let http: number;
let push: ChildProcess;
const dir = mkdtempSync(join(tmpdir(), 'jobs-'));

before(async () => {
  node = createNode(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, processing: { maxJobs: 2 } }), { logger: createLogger('silent') });
  server = node.server;
  const a = await server.start();
  http = a.httpPort;
  push = pushPattern(a.rtmpPort, 'live/src', { seconds: 90 });
  await waitFor('live/src', () => (server.registry.find('live', 'src')?.videoConfig ? true : undefined), 15_000);
});

after(async () => {
  await stop(push);
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const job = (id: string, out = `live/${id}`, kbps = 200) => ({ id, input: { stream: 'live/src' }, outputs: [{ stream: out, height: 90, kbps }], fps: 15, preset: 'ultrafast' });

test('bad specs get a 4xx naming what is wrong, and nothing starts', async () => {
  const bad = await api(http, 'POST', '/api/jobs', { input: { stream: 'live/src' }, outputs: [{ stream: 'nope', height: 91, kbps: 1 }], colour: 'red' });
  assert.equal(bad.status, 400);
  const problems = bad.body.problems.join('\n');
  for (const field of ['outputs.0.stream', 'outputs.0.height', 'outputs.0.kbps', 'colour']) assert.match(problems, new RegExp(field.replace(/\./g, '\\.')), problems);
  const unknown = await api(http, 'POST', '/api/jobs', { ...job('x'), input: { stream: 'live/missing' } });
  assert.equal(unknown.status, 422);
  assert.match(unknown.body.error, /live\/missing is not a live stream/);
  const notJson = await api(http, 'POST', '/api/jobs', undefined, '{"input":');
  assert.equal(notJson.status, 400);
  assert.match(notJson.body.error, /not JSON/);
  const selfLoop = await api(http, 'POST', '/api/jobs', job('loop', 'live/src'));
  assert.equal(selfLoop.status, 409);
  const pipe = await api(http, 'POST', '/api/jobs', { ...job('p'), input: { url: 'pipe:0' } });
  assert.equal(pipe.status, 400);
  assert.equal((await api(http, 'GET', '/api/jobs')).body.jobs.length, 0);
  assert.equal((await api(http, 'GET', '/api/jobs/none')).status, 404);
});

test('a job publishes its output, is restarted when its ffmpeg is killed, takes a PATCH and a DELETE; the node bound refuses a third', { timeout: 60_000 }, async () => {
  const created = await api(http, 'POST', '/api/jobs', job('t1'));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await waitFor('t1 running', async () => ((await api(http, 'GET', '/api/jobs/t1')).body.state === 'running' ? true : undefined), 15_000);
  const out = server.registry.find('live', 't1')!;
  assert.equal(out.videoConfig?.height, 90);
  const j = node.processing.jobs.get('t1') as TranscodeJob;
  let frames = 0;
  out.on('frame', () => frames++);
  j.process!.child.kill('SIGKILL');
  await waitFor('t1 restarted', async () => {
    const b = (await api(http, 'GET', '/api/jobs/t1')).body;
    return b.state === 'running' && b.restarts === 1 ? b : undefined;
  }, 15_000);
  const before = frames;
  await waitFor('frames after the restart', () => (frames > before + 10 ? true : undefined), 10_000);
  // The same Stream object carried on (its viewers stayed).
  assert.equal(server.registry.find('live', 't1'), out);

  // A file that is not media: the job fails with ffmpeg's reason, no hang, no crash.
  const junk = join(dir, 'junk.mp4');
  writeFileSync(junk, 'this is not a video file\n'.repeat(100));
  assert.equal((await api(http, 'POST', '/api/jobs', { id: 'junk', input: { url: junk }, outputs: [{ stream: 'live/junk', height: 90, kbps: 100 }] })).status, 201);
  assert.equal((await api(http, 'POST', '/api/jobs', job('t3'))).status, 429);
  const failed = await waitFor('junk failed', async () => {
    const b = (await api(http, 'GET', '/api/jobs/junk')).body;
    return b.state === 'failed' ? b : undefined;
  }, 30_000);
  assert.match(failed.reason, /invalid data|junk\.mp4/i);
  assert.equal((await api(http, 'DELETE', '/api/jobs/junk')).status, 200);

  const patched = await api(http, 'PATCH', '/api/jobs/t1', { outputs: [{ stream: 'live/t1', height: 120, kbps: 150 }] });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await waitFor('t1 at 120 lines', () => (server.registry.find('live', 't1')?.videoConfig?.height === 120 ? true : undefined), 15_000);
  assert.equal((await api(http, 'PATCH', '/api/jobs/t1', { outputs: [{ stream: 'live/other', height: 120, kbps: 150 }] })).status, 422);
  assert.equal((await api(http, 'DELETE', '/api/jobs/t1')).status, 200);
  assert.equal(server.registry.find('live', 't1')?.isLive ?? false, false);
  assert.equal((await api(http, 'GET', '/api/jobs')).body.jobs.length, 0);
});
