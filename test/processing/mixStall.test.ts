import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { MixJob } from '../../src/processing/mix/MixJob.js';
import { parseConfig } from '../../src/node/config.js';
import { createNode, type MediaNode } from '../../src/node/createNode.js';
import { createLogger } from '../../src/server/log.js';
import { api, decodingViewer, pushPattern, sleep, stop, waitFor, yuvAt } from './helpers.js';

const W = 320;
const H = 180;
const FPS = 15;
const STALL_MS = 1000;
let node: MediaNode;
let http: number;
let host: ChildProcess;
let guest: ChildProcess;
let viewer: ChildProcess | undefined;

before(async () => {
  node = createNode(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 } }), { logger: createLogger('silent') });
  const a = await node.server.start();
  http = a.httpPort;
  host = pushPattern(a.rtmpPort, 'live/host', { fps: FPS, seconds: 60 });
  guest = pushPattern(a.rtmpPort, 'live/guest', { fps: FPS, seconds: 60, pattern: 'color=c=red' });
  const reg = node.server.registry;
  await waitFor('inputs live', () => (reg.find('live', 'host')?.videoConfig && reg.find('live', 'guest')?.videoConfig ? true : undefined), 15_000);
});

after(async () => {
  guest.kill('SIGCONT');
  if (viewer) await stop(viewer);
  await Promise.all([stop(host), stop(guest)]);
  await node.server.close();
});

const isRed = ([, u, v]: [number, number, number]) => v > 200 && u < 120;
const isSlate = ([, u, v]: [number, number, number]) => u > 200 && v < 140;

// On a loaded machine an input's decoder gets the CPU late and hands out its last pictures after
// the input already stopped. The slate's clock starts when the input stopped sending, not when
// its decoder caught up: here the decoder is held (SIGSTOP) from 200 ms before the input's stop
// to 700 ms after it, so its last pictures come out 700 ms late, and the slate must still be
// composed stallMs after the input's last frame went in (judged by pictures it was 700 ms later). stallMs is long (1 s) so
// the hold alone stays short of it and the two rules stay far apart (~1000 vs ~1700 ms) on a
// loaded machine too.
test('a stalled input gets the slate stallMs after its last frame, even when its decoder lags behind', { timeout: 60_000 }, async () => {
  const created = await api(http, 'POST', '/api/mixes', {
    id: 'lag', output: 'live/mix', width: W, height: H, fps: FPS, kbps: 400, stallMs: STALL_MS,
    inputs: [{ source: { stream: 'live/host' } }, { source: { stream: 'live/guest' } }],
    layout: { type: 'pip', corner: 'bottom-right', size: 0.3 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await waitFor('live/mix', () => node.server.registry.find('live', 'mix')?.videoConfig, 20_000);
  const pictures: Array<{ at: number; inset: [number, number, number] }> = [];
  viewer = decodingViewer(`http://127.0.0.1:${http}/live/mix.flv`, W, H, (d, at) => pictures.push({ at, inset: yuvAt(d, W, H, 268, 149) }));
  const seen = (after: number, ok: (p: (typeof pictures)[number]) => boolean) => pictures.find((p) => p.at >= after && ok(p));
  await waitFor('the guest in the inset', () => seen(0, (p) => isRed(p.inset)), 20_000);
  const job = node.processing.jobs.get('lag') as MixJob;
  const decoder = job.inputs[1]!.process!.child;
  await sleep(1000);

  for (let cycle = 0; cycle < 2; cycle++) {
    decoder.kill('SIGSTOP');
    // Three frame intervals at 15 fps, so frames go into the held decoder before the input stops
    // (with 60 ms, in CI, the input's last frame went in 67 ms before the hold and nothing was
    // left in the decoder to come out late: the case under test did not happen).
    await sleep(200);
    const stalledAt = Date.now();
    guest.kill('SIGSTOP');
    await sleep(700);
    decoder.kill('SIGCONT');
    const slate = await waitFor('the slate in the inset', () => seen(stalledAt, (p) => isSlate(p.inset)), 5000);
    const st = job.stats.inputs[1]!.stallStages.at(-1)!;
    const composed = st.composedAt - stalledAt;
    console.log(`cycle ${cycle}: last frame fed ${st.lastFedAt - stalledAt} ms, last picture ${st.lastPictureAt - stalledAt} ms, slate composed ${composed} ms, on the viewer's screen ${slate.at - stalledAt} ms after the input stalled`);
    assert.ok(st.lastPictureAt - stalledAt >= 600, 'the decoder handed its last pictures out late (the case under test)');
    assert.ok(st.lastFedAt - stalledAt <= 100, 'the last frame went in at the stall');
    assert.ok(composed <= STALL_MS + 350, `slate composed ${composed} ms after the stall (stallMs ${STALL_MS})`);
    assert.ok(slate.at - stalledAt <= STALL_MS + 1500, `slate on screen ${slate.at - stalledAt} ms after the stall`);
    const backAt = Date.now();
    guest.kill('SIGCONT');
    await waitFor('the guest back in the inset', () => seen(backAt, (p) => isRed(p.inset)), 10_000);
    await sleep(1000);
  }
  assert.equal((await api(http, 'DELETE', '/api/mixes/lag')).status, 200);
});
