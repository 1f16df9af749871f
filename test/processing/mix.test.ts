import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { MediaFrame } from '../../src/media/frame.js';
import type { MixJob } from '../../src/processing/mix/MixJob.js';
import { parseConfig } from '../../src/node/config.js';
import { createNode, type MediaNode } from '../../src/node/createNode.js';
import { createLogger } from '../../src/server/log.js';
import type { Server } from '../../src/server/Server.js';
import { api, decodingViewer, pushPattern, stop, waitFor, yuvAt } from './helpers.js';

const W = 320;
const H = 180;
const FPS = 15;
let server: Server;
/** The server with its processing and recording parts (src/node/). */
let node: MediaNode;
let http: number;
let host: ChildProcess;
let guest: ChildProcess;
let viewer: ChildProcess | undefined;

before(async () => {
  node = createNode(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 } }), { logger: createLogger('silent') });
  server = node.server;
  const a = await server.start();
  http = a.httpPort;
  host = pushPattern(a.rtmpPort, 'live/host', { fps: FPS, seconds: 90 });
  guest = pushPattern(a.rtmpPort, 'live/guest', { fps: FPS, seconds: 90, pattern: 'color=c=red' });
  await waitFor('inputs live', () => (server.registry.find('live', 'host')?.videoConfig && server.registry.find('live', 'guest')?.videoConfig ? true : undefined), 15_000);
});

after(async () => {
  guest.kill('SIGCONT');
  if (viewer) await stop(viewer);
  await Promise.all([stop(host), stop(guest)]);
  await server.close();
});

const isRed = ([, u, v]: [number, number, number]) => v > 200 && u < 120;
const isSlate = ([, u, v]: [number, number, number]) => u > 200 && v < 140;

test('a mix never stops: a stalled input shows the slate within 500 ms with no gap in the output, returns, and the layout changes live', { timeout: 90_000 }, async () => {
  const bad = await api(http, 'POST', '/api/mixes', { output: 'live/mix', inputs: [{ source: { stream: 'live/host' } }], layout: { type: 'side-by-side' } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.problems.join(), /side-by-side takes exactly 2 inputs/);
  const unknown = await api(http, 'POST', '/api/mixes', { output: 'live/mix', inputs: [{ source: { stream: 'live/host' } }, { source: { stream: 'live/nobody' } }] });
  assert.equal(unknown.status, 422);

  const created = await api(http, 'POST', '/api/mixes', {
    id: 'm1', output: 'live/mix', width: W, height: H, fps: FPS, kbps: 400, stallMs: 250,
    inputs: [{ source: { stream: 'live/host' } }, { source: { stream: 'live/guest' }, gain: 0.5 }],
    layout: { type: 'pip', corner: 'bottom-right', size: 0.3 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const out = await waitFor('live/mix', () => (server.registry.find('live', 'mix')?.videoConfig ? server.registry.find('live', 'mix') : undefined), 20_000);
  assert.equal(out.videoConfig?.width, W);
  assert.ok(out.audioConfig, 'the mix has audio');
  const video: Array<{ at: number; dts: number }> = [];
  out.on('frame', (f: MediaFrame) => f.kind === 'video' && video.push({ at: Date.now(), dts: f.dts }));

  // The inset (bottom right, 96x54 at 220,122) shows the guest; above it is the host.
  const pictures: Array<{ at: number; inset: [number, number, number]; right: [number, number, number] }> = [];
  viewer = decodingViewer(`http://127.0.0.1:${http}/live/mix.flv`, W, H, (d, at) => pictures.push({ at, inset: yuvAt(d, W, H, 268, 149), right: yuvAt(d, W, H, 240, 40) }));
  const seen = (after: number, ok: (p: (typeof pictures)[number]) => boolean) => pictures.find((p) => p.at >= after && ok(p));
  await waitFor('the guest in the inset', () => seen(0, (p) => isRed(p.inset)), 20_000);
  assert.ok(!isRed(pictures[pictures.length - 1]!.right), 'the host fills the main place');

  const job = node.processing.jobs.get('m1') as MixJob;
  for (let cycle = 0; cycle < 2; cycle++) {
    const stalledAt = Date.now();
    guest.kill('SIGSTOP');
    const slate = await waitFor('the slate in the inset', () => seen(stalledAt, (p) => isSlate(p.inset)), 5000);
    const onScreen = slate.at - stalledAt;
    console.log(`cycle ${cycle}: slate on the viewer's screen ${onScreen} ms after the input stalled; compositor: ${job.stats.inputs[1]!.slateAfterMs.at(-1)} ms after its last picture`);
    assert.ok(job.stats.inputs[1]!.slateAfterMs.at(-1)! <= 250 + 2 * (1000 / FPS) + 50, 'the compositor put the slate up at stallMs');
    assert.ok(onScreen <= 1500, `slate on screen ${onScreen} ms after the stall`);
    const backAt = Date.now();
    guest.kill('SIGCONT');
    await waitFor('the guest back in the inset', () => seen(backAt, (p) => isRed(p.inset)), 10_000);
  }

  // A live layout change: side by side puts the guest in the right half.
  const changeAt = Date.now();
  const patched = await api(http, 'PATCH', '/api/mixes/m1', { layout: { type: 'side-by-side' } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await waitFor('the guest on the right', () => seen(changeAt, (p) => isRed(p.right)), 5000);
  assert.equal((await api(http, 'PATCH', '/api/mixes/m1', { layout: { type: 'grid' }, main: 5 })).status, 422);
  assert.equal((await api(http, 'PATCH', '/api/mixes/m1', { gains: [1] })).status, 422);

  // The output never stopped: one picture per frame interval in its timestamps, and no wall-clock gap.
  const v = video.slice(1);
  let worst = 0;
  for (let i = 1; i < v.length; i++) {
    const step = v[i]!.dts - v[i - 1]!.dts;
    assert.ok(Math.abs(step - 1000 / FPS) <= 2, `dts step ${step} at ${i}`);
    worst = Math.max(worst, v[i]!.at - v[i - 1]!.at);
  }
  console.log(`${v.length} mixed pictures, longest wait between two ${worst} ms`);
  assert.ok(worst < 400, `the output stopped for ${worst} ms`);
  const info = (await api(http, 'GET', '/api/mixes/m1')).body;
  assert.equal(info.state, 'running');
  for (const s of info.spec.inputStates) assert.equal(s.restarts, 0, `input ${s.input} restarted: ${s.reason}`);
  console.log(`decode delays ${info.spec.inputStates.map((s: { decodeDelayMs: number }) => s.decodeDelayMs).join(', ')} ms, mix delay ${info.delayMs} ms`);
  assert.ok(info.cpu > 0);
  assert.equal((await api(http, 'GET', '/api/jobs/m1')).status, 404, 'a mix is under /api/mixes');
  assert.equal((await api(http, 'DELETE', '/api/mixes/m1')).status, 200);
});
