/**
 * Transport players on a stream with a quality ladder (a real node, ffmpeg pushing RTMP, the
 * ladder job's ffmpeg making two renditions): the hello's quality picks a rendition or the
 * source; `auto` starts on the best and, behind a link that cannot carry it (the project's UDP
 * link emulator, 350 kbit/s toward the player), is moved down at a keyframe by how fast the
 * session drains, on the same session, with frames arriving on after the switch.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { connectMedia, type MediaConnection } from '../../src/client/connectMedia.js';
import { RateBottleneck } from '../../src/emulator/Bottleneck.js';
import { UdpLinkProxy } from '../../src/emulator/UdpLinkProxy.js';
import { decodeMessage } from '../../src/media/tributary/messages.js';
import { parseConfig } from '../../src/node/config.js';
import { createNode, type MediaNode } from '../../src/node/createNode.js';
import { createLogger } from '../../src/server/log.js';
import { pushPattern, stop, waitFor } from './helpers.js';

let node: MediaNode;
let transportPort: number;
let push: ChildProcess;

before(async () => {
  node = createNode(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    apps: { live: { ladder: [{ name: 'hi', height: 144, kbps: 700 }, { name: 'lo', height: 72, kbps: 80 }] } },
    processing: { maxJobs: 2 },
  }), { logger: createLogger('silent') });
  const a = await node.server.start();
  transportPort = a.transportPort;
  // Noise keeps the top rendition near its rate (a plain test pattern compresses to far less).
  push = pushPattern(a.rtmpPort, 'live/cam', { size: '320x180', fps: 15, seconds: 120, filter: 'noise=alls=40:allf=t', kbps: 1200 });
  for (const k of ['cam_hi', 'cam_lo']) await waitFor(`live/${k}`, () => (node.server.registry.find('live', k)?.videoConfig ? true : undefined), 25_000);
});

after(async () => {
  if (push) await stop(push);
  await node?.server.close();
});

/** A transport player that records the height of each video config and counts video frames after each. */
async function player(url: string): Promise<{ conn: MediaConnection; heights: number[]; framesSinceConfig: () => number; close: () => Promise<void> }> {
  const conn = await connectMedia(url, 'play', { encryption: 'all', tcp: 'never' });
  const heights: number[] = [];
  let since = 0;
  conn.onMessage((d) => {
    const m = decodeMessage(d);
    if (m.type === 'config' && m.config.kind === 'video') {
      heights.push(m.config.height ?? 0);
      since = 0;
    } else if (m.type === 'frame' && m.frame.kind === 'video') since++;
  });
  return { conn, heights, framesSinceConfig: () => since, close: () => conn.client.close() };
}

test('a transport player gets the rendition its hello names, or the source', { timeout: 60_000 }, async () => {
  for (const [quality, height] of [['lo', 72], ['hi', 144], ['source', 180]] as const) {
    const p = await player(`tributary://127.0.0.1:${transportPort}/live/cam?quality=${quality}`);
    try {
      await waitFor(`${quality}: 20 video frames`, () => (p.heights.length > 0 && p.framesSinceConfig() >= 20 ? true : undefined), 10_000);
      assert.deepEqual([...new Set(p.heights)], [height], `${quality}: config heights ${p.heights.join(',')}`);
    } finally {
      await p.close();
    }
  }
});

test('quality=auto behind a 350 kbit/s link: moved down to the rendition that fits, on the same session, and frames keep coming', { timeout: 90_000 }, async () => {
  const proxy = new UdpLinkProxy({
    target: { host: '127.0.0.1', port: transportPort },
    up: {},
    down: { bottleneck: new RateBottleneck(350_000), queueBytes: 200_000 },
  });
  const port = await proxy.listen();
  const p = await player(`tributary://127.0.0.1:${port}/live/cam?quality=auto`);
  try {
    await waitFor('the first video config', () => (p.heights.length > 0 ? true : undefined), 10_000);
    assert.equal(p.heights[0], 144, 'auto starts on the best rendition');
    await waitFor('a switch down to 72p', () => (p.heights.includes(72) ? true : undefined), 45_000);
    const sessionAtSwitch = p.conn.session;
    await waitFor('frames after the switch', () => (p.framesSinceConfig() >= 30 ? true : undefined), 15_000);
    assert.equal(p.conn.session, sessionAtSwitch);
    assert.equal(p.conn.session.isClosed, false, 'the session stayed open through the switch');
    const auto = [...node.processing.autos][0];
    assert.ok(auto && auto.switches.some((s) => s.to === 'lo'), `switches: ${JSON.stringify(auto?.switches)}`);
  } finally {
    await p.close();
    proxy.close();
  }
});
