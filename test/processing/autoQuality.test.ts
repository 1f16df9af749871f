import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/node/config.js';
import { createNode, type MediaNode } from '../../src/node/createNode.js';
import { createLogger } from '../../src/server/log.js';
import type { Server } from '../../src/server/Server.js';
import { FlvReader } from '../server/http/flvReader.js';
import { httpGet } from '../server/http/tools.js';
import { pushPattern, sleep, slowLinkViewer, stop, waitFor } from './helpers.js';

let server: Server;
/** The server with its processing and recording parts (src/node/). */
let node: MediaNode;
let http: number;
let push: ChildProcess;
const dir = mkdtempSync(join(tmpdir(), 'auto-'));

before(async () => {
  node = createNode(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    apps: { live: { ladder: [{ name: 'hi', height: 180, kbps: 700 }, { name: 'lo', height: 90, kbps: 100 }] } },
  }), { logger: createLogger('silent') });
  server = node.server;
  const a = await server.start();
  http = a.httpPort;
  // Noise keeps the top rendition at its rate (a plain test pattern compresses to far less).
  push = pushPattern(a.rtmpPort, 'live/cam', { size: '320x180', fps: 15, seconds: 90, filter: 'noise=alls=25:allf=t', kbps: 1500 });
  await waitFor('renditions', () => (server.registry.find('live', 'cam_lo')?.videoConfig && server.registry.find('live', 'cam_hi')?.videoConfig ? true : undefined), 20_000);
});

after(async () => {
  await stop(push);
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a multivariant playlist lists the live renditions, best first, with their sizes and codecs', async () => {
  const r = await httpGet(`http://127.0.0.1:${http}/live/cam/master.m3u8`);
  assert.equal(r.status, 200);
  const lines = r.body.trim().split('\n');
  assert.equal(lines[0], '#EXTM3U');
  const inf = lines.filter((l) => l.startsWith('#EXT-X-STREAM-INF'));
  assert.equal(inf.length, 2);
  assert.match(inf[0]!, /RESOLUTION=320x180/);
  assert.match(inf[1]!, /RESOLUTION=160x90/);
  assert.match(inf[0]!, /CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
  assert.deepEqual(lines.filter((l) => !l.startsWith('#')), ['../cam_hi/index.m3u8', '../cam_lo/index.m3u8']);
  const media = await httpGet(`http://127.0.0.1:${http}/live/cam_lo/index.m3u8`);
  assert.equal(media.status, 200);
  assert.match(media.body, /#EXT-X-PART:/);
  // Each rendition's playlist reports where the others stand, as their own playlists say.
  const report = /#EXT-X-RENDITION-REPORT:URI="\.\.\/cam_hi\/index\.m3u8",LAST-MSN=(\d+),LAST-PART=(\d+)/.exec(media.body);
  assert.ok(report, media.body);
  assert.doesNotMatch(media.body, /RENDITION-REPORT:URI="\.\.\/cam_lo\//, 'no report of itself');
  const hi = await httpGet(`http://127.0.0.1:${http}/live/cam_hi/index.m3u8`);
  const hiParts = [...hi.body.matchAll(/#EXT-X-PART:DURATION=[^,]+,URI="part(\d+)\.(\d+)\.m4s"/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  const [msn, part] = [Number(report![1]), Number(report![2])];
  assert.ok(hiParts.some(([m, i]) => m === msn && i === part), `reported ${msn}.${part} is a part cam_hi lists (${hiParts.slice(-3).join(' ')})`);
  assert.match(hi.body, /#EXT-X-RENDITION-REPORT:URI="\.\.\/cam_lo\/index\.m3u8",LAST-MSN=\d+,LAST-PART=\d+/);
  assert.equal((await httpGet(`http://127.0.0.1:${http}/live/nothing/master.m3u8`)).status, 404);
});

test('?quality=auto: a viewer whose bandwidth drops below the top rendition is moved down at a keyframe, and what it got decodes', { timeout: 60_000 }, async () => {
  const reader = new FlvReader();
  const chunks: Buffer[] = [];
  let cutAt = 0;
  const v = slowLinkViewer(http, '/live/cam.flv?quality=auto', 5_000_000, (c) => {
    chunks.push(c);
    reader.push(c);
  });
  try {
    await waitFor('the viewer on hi', () => ([...node.processing.autos][0]?.rendition === 'hi' && reader.videoFrames > 20 ? true : undefined), 10_000);
    const auto = [...node.processing.autos][0]!;
    assert.equal(auto.switches.length, 0);
    await sleep(1500);
    cutAt = Date.now();
    v.setRate(300_000); // below hi (700 + audio), above lo (100 + audio)
    const sw = await waitFor('a switch down', () => auto.switches.find((s) => s.to === 'lo'), 15_000);
    const after = sw.at - cutAt;
    console.log(`switched down ${after} ms after the cut`);
    assert.ok(after <= 6000, `switched ${after} ms after the cut`);
    // On the viewer's screen: the lo sequence header reached it (behind what was queued before).
    await waitFor('lo at the viewer', () => (reader.outputs.some((o) => o.type === 'config' && o.config.height === 90) ? true : undefined), 10_000);
    const seen = Date.now() - cutAt;
    console.log(`the viewer had the lo rendition ${seen} ms after the cut`);
    assert.ok(seen <= 8000, `lo reached the viewer ${seen} ms after the cut`);
    await sleep(1500);
    // It stays down: the link still cannot carry hi.
    assert.equal(auto.rendition, 'lo');
  } finally {
    v.close();
  }
  // The switch is a new sequence header, then a keyframe, then on; the file decodes whole.
  const outs = reader.outputs;
  const configs = outs.flatMap((o, i) => (o.type === 'config' && o.config.kind === 'video' ? [{ i, h: o.config.height }] : []));
  assert.deepEqual(configs.map((c) => c.h), [180, 90]);
  const next = outs.slice(configs[1]!.i).find((o) => o.type === 'frame' && o.frame.kind === 'video');
  assert.ok(next && next.type === 'frame' && next.frame.keyframe, 'first picture after the switch is a keyframe');
  const file = join(dir, 'viewer.flv');
  writeFileSync(file, Buffer.concat(chunks));
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-f', 'null', '-'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stderr.trim(), '', `decoder errors: ${r.stderr.slice(0, 500)}`);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=height', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  const heights = probe.stdout.trim().split('\n').map(Number);
  assert.equal(heights[0], 180);
  assert.equal(heights[heights.length - 1], 90);
});
