import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { MediaFrame } from '../../src/media/frame.js';
import { parseConfig } from '../../src/node/config.js';
import { createNode, type MediaNode } from '../../src/node/createNode.js';
import { createLogger } from '../../src/server/log.js';
import type { Server } from '../../src/server/Server.js';
import { api, pushPattern, sleep, stop, waitFor } from './helpers.js';

let server: Server;
/** The server with its processing and recording parts (src/node/). */
let node: MediaNode;
let http: number;
let push: ChildProcess;

before(async () => {
  node = createNode(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    apps: { live: { ladder: [{ name: 'hi', height: 180, kbps: 400 }, { name: 'lo', height: 90, kbps: 120 }] } },
    processing: { maxJobs: 3 },
  }), { logger: createLogger('silent') });
  server = node.server;
  const a = await server.start();
  http = a.httpPort;
  push = pushPattern(a.rtmpPort, 'live/cam', { size: '320x180', fps: 15, seconds: 60 });
});

after(async () => {
  await stop(push);
  await server.close();
});

test('a ladder app gets its renditions as streams, with keyframes at the same instants in every rendition', { timeout: 60_000 }, async () => {
  const hi = await waitFor('live/cam_hi', () => (server.registry.find('live', 'cam_hi')?.videoConfig ? server.registry.find('live', 'cam_hi') : undefined), 20_000);
  const lo = await waitFor('live/cam_lo', () => (server.registry.find('live', 'cam_lo')?.videoConfig ? server.registry.find('live', 'cam_lo') : undefined), 20_000);
  assert.equal(hi.videoConfig?.height, 180);
  assert.equal(lo.videoConfig?.height, 90);
  const keys = { hi: [] as number[], lo: [] as number[] };
  const frames = { hi: 0, lo: 0 };
  const on = (name: 'hi' | 'lo') => (f: MediaFrame) => {
    if (f.kind !== 'video') return;
    frames[name]++;
    if (f.keyframe) keys[name].push(f.pts);
  };
  const h = on('hi');
  const l = on('lo');
  hi.on('frame', h);
  lo.on('frame', l);
  await sleep(4500);
  hi.off('frame', h);
  lo.off('frame', l);
  assert.ok(keys.hi.length >= 3, `hi keyframes: ${keys.hi.join(',')}`);
  // The same instants in both (one may have one more at either end of the window).
  const common = keys.hi.filter((t) => keys.lo.includes(t));
  assert.ok(common.length >= Math.max(keys.hi.length, keys.lo.length) - 2, `keyframes hi ${keys.hi.join(',')} lo ${keys.lo.join(',')}`);
  // About one a second (GOP 1 s).
  for (let i = 1; i < common.length; i++) assert.ok(Math.abs(common[i]! - common[i - 1]! - 1000) <= 70, `keyframe interval ${common[i]! - common[i - 1]!}`);
  // Every picture of the source made it to both (15 fps over 4.5 s).
  assert.ok(frames.hi >= 55 && frames.lo >= 55, `frames hi ${frames.hi} lo ${frames.lo}`);
  const jobs = await api(http, 'GET', '/api/jobs');
  assert.equal(jobs.status, 200);
  const ladder = jobs.body.jobs.find((j: { kind: string }) => j.kind === 'ladder');
  assert.equal(ladder.state, 'running');
  assert.deepEqual(ladder.outputs, ['live/cam_hi', 'live/cam_lo']);
  assert.ok(ladder.delayMs !== null && ladder.delayMs < 1000, `delay ${ladder.delayMs}`);
  await sleep(600);
  const again = (await api(http, 'GET', '/api/jobs/' + ladder.id)).body;
  assert.ok(again.cpu > 0, `cpu ${again.cpu}`);
});
