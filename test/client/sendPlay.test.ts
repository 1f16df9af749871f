import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../../src/server/Server.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { makeToken } from '../../src/server/auth.js';
import { Sender } from '../../src/client/send/Sender.js';
import { Player } from '../../src/client/play/Player.js';
import { MediaRefusedError } from '../../src/client/connectMedia.js';
import { FlvDemuxer } from '../../src/media/flv/FlvDemuxer.js';
import type { EncryptionMode } from '../../src/transport/api.js';
import { ffprobeLive, requireBinary } from '../media/mp4/source.js';

const SECRET = 'a-test-secret-of-some-length';

async function startServer(port = 0, minEncryption: EncryptionMode = 'headers'): Promise<{ server: Server; http: number; transport: number }> {
  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: port, srt: { port: 0 }, auth: { secret: SECRET, publish: true }, transport: { minEncryption } }), { logger: createLogger('silent') });
  const a = await server.start();
  return { server, http: a.httpPort, transport: a.transportPort };
}

const token = (key: string, action: 'publish' | 'play' = 'publish', ttlMs = 600_000) => makeToken(SECRET, { action, app: 'live', key, expiresAt: Date.now() + ttlMs });

/** 4 s of 320x240 25 fps H.264 + AAC as FLV (a file input, looped, for the runs without ffmpeg live). */
function makeFlv(dir: string): string {
  requireBinary('ffmpeg');
  const file = join(dir, 'src.flv');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4', '-f', 'lavfi', '-i', 'sine=duration=4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', file]);
  assert.equal(r.status, 0, r.stderr?.toString());
  return file;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('ffmpeg -> tributary send (RTMP input) -> server: ffprobe reads HTTP-FLV and LL-HLS; the API shows the ingest delay; a server restart is survived without the encoder noticing', { timeout: 120_000 }, async () => {
  requireBinary('ffmpeg');
  let { server, http, transport } = await startServer();
  const sender = await Sender.start({ input: 'rtmp://127.0.0.1:0/live/cam', output: `tributary://127.0.0.1:${transport}/live/cam?token=${token('cam')}`, minBackoffMs: 200, maxBackoffMs: 500 });
  const rtmpPort = (sender.mediaInput as unknown as { boundPort: number }).boundPort;
  const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-t', '40', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/cam`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let ffErr = '';
  ff.stderr.on('data', (d) => (ffErr += String(d)));
  try {
    await until(() => server.registry.find('live', 'cam')?.isLive === true && sender.status().framesSent > 30, 15_000, 'the stream is live on the server');
    const flv = await ffprobeLive(`http://127.0.0.1:${http}/live/cam.flv`);
    const v = flv.streams.find((s) => s['codec_type'] === 'video')!;
    assert.deepEqual([v['codec_name'], v['width'], v['height'], v['r_frame_rate']], ['h264', 640, 360, '30/1']);
    assert.ok(flv.streams.some((s) => s['codec_name'] === 'aac'));
    const hls = await ffprobeLive(`http://127.0.0.1:${http}/live/cam/index.m3u8`);
    assert.ok(hls.streams.some((s) => s['codec_name'] === 'h264' && s['width'] === 640));
    const api = (await (await fetch(`http://127.0.0.1:${http}/api/streams/live/cam`)).json()) as { publisher: { protocol: string }; ingestDelayMs?: number };
    assert.equal(api.publisher.protocol, 'tributary');
    assert.ok(typeof api.ingestDelayMs === 'number' && api.ingestDelayMs >= 0 && api.ingestDelayMs < 1000, `ingest delay ${api.ingestDelayMs}`);
    const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
    assert.match(metrics, /tributary_ingest_delay_ms\{stream="live\/cam"\} \d/);

    // The server goes away and comes back on the same port: the sender reconnects, the encoder never knows.
    await server.close();
    await until(() => sender.status().state === 'reconnecting', 10_000, 'the sender notices');
    ({ server, http } = await startServer(transport));
    await until(() => server.registry.find('live', 'cam')?.isLive === true, 15_000, 'the sender publishes again');
    const sentBefore = sender.status().framesSent;
    await until(() => sender.status().framesSent > sentBefore + 30, 10_000, 'frames flow again');
    assert.equal(ff.exitCode, null, `ffmpeg still running: ${ffErr}`);
    assert.ok(sender.status().reconnects >= 1);
  } finally {
    ff.kill('SIGKILL');
    await sender.close();
    await server.close();
  }
});

for (const mode of ['none', 'headers', 'all'] as EncryptionMode[]) {
  test(`encryption '${mode}': a file sent over the transport plays back through tributary play as FLV`, { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-send-'));
    // 'none' only where the server allows it (its default minimum is 'headers').
    const { server, transport } = await startServer(0, mode);
    const sender = await Sender.start({ input: makeFlv(dir), loop: true, output: `tributary://127.0.0.1:${transport}/live/f${mode}?token=${token(`f${mode}`)}`, encryption: mode });
    const chunks: Uint8Array[] = [];
    let player: Player | undefined;
    try {
      await until(() => server.registry.find('live', `f${mode}`)?.isLive === true, 10_000, 'live');
      const ages: number[] = [];
      let videoFrames = 0;
      player = await Player.start(`tributary://127.0.0.1:${transport}/live/f${mode}`, { format: 'flv', encryption: mode, write: (c) => (chunks.push(c), true), onFrame: (f, age) => {
        if (age !== undefined) ages.push(age);
        if (f.kind === 'video') videoFrames++;
      } });
      // Video frames, not frames: the player writes audio from the start, before the first keyframe.
      await until(() => videoFrames > 20, 10_000, 'video frames played');
      const d = new FlvDemuxer();
      const outs = chunks.flatMap((c) => d.push(c));
      const video = outs.filter((o) => o.type === 'frame' && o.frame.kind === 'video');
      assert.ok(outs.some((o) => o.type === 'config' && o.config.kind === 'video' && o.config.width === 320));
      assert.ok(video.length > 20 && video[0]!.type === 'frame' && video[0]!.frame.keyframe, 'starts on a keyframe');
      assert.ok(ages.length > 0 && ages.every((a) => a >= 0 && a < 2000), 'every frame carries its age');
      assert.equal(sender.status().state, 'live');
    } finally {
      await player?.close();
      await sender.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a wrong or missing token is refused with a clear error; an expired one is caught before dialing; a duplicate publish is refused by name', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-send-'));
  const { server, transport } = await startServer();
  const base = `tributary://127.0.0.1:${transport}/live`;
  try {
    const { connectMedia } = await import('../../src/client/connectMedia.js');
    await assert.rejects(connectMedia(`${base}/x?token=${token('other')}`, 'publish', { connectTimeoutMs: 1500 }), /no session .* token is not valid/);
    await assert.rejects(connectMedia(`${base}/x`, 'publish', { connectTimeoutMs: 1500 }), /needs a token/);
    await assert.rejects(connectMedia(`${base}/x?token=${token('x', 'publish', -1000)}`, 'publish'), (e: Error) => e instanceof MediaRefusedError && /expired/.test(e.message));
    const first = await Sender.start({ input: makeFlv(dir), loop: true, output: `${base}/dup?token=${token('dup')}` });
    try {
      await until(() => server.registry.find('live', 'dup')?.isLive === true, 10_000, 'live');
      await assert.rejects(connectMedia(`${base}/dup?token=${token('dup')}`, 'publish'), (e: Error) => e instanceof MediaRefusedError && /already/.test(e.message));
    } finally {
      await first.close();
    }
    assert.ok(server.transport.stats.refused >= 1);
    assert.ok((server.transport.dropped['unknown-identity'] ?? 0) >= 1, JSON.stringify(server.transport.dropped));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('send over two local links (--link 127.0.0.2 --link 127.0.0.3, aggregate): the status has a row per link, the API and metrics show both paths of the publisher', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-send-'));
  const { server, http, transport } = await startServer();
  const sender = await Sender.start({ input: makeFlv(dir), loop: true, output: `tributary://127.0.0.1:${transport}/live/bond?token=${token('bond')}`, links: ['127.0.0.2', '127.0.0.3'] });
  try {
    await until(() => server.registry.find('live', 'bond')?.isLive === true, 10_000, 'live');
    await until(() => sender.status().links.filter((l) => l.share > 0).length === 2, 10_000, 'media on both links');
    const st = sender.status();
    assert.equal(st.bond, 'aggregate', 'several links default to aggregate');
    assert.deepEqual(st.links.map((l) => l.link).sort(), ['127.0.0.2', '127.0.0.3']);
    for (const l of st.links) assert.ok(l.state === 'active' && l.rttMs >= 0 && l.sendingBps > 0, JSON.stringify(l));
    const info = (await (await fetch(`http://127.0.0.1:${http}/api/streams/live/bond`)).json()) as { publisher: { paths?: Array<{ address: string; receiveKbps: number }> } };
    const addrs = (info.publisher.paths ?? []).map((p) => p.address.split(':')[0]).sort();
    assert.deepEqual(addrs, ['127.0.0.2', '127.0.0.3'], JSON.stringify(info.publisher));
    const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text();
    assert.match(metrics, /tributary_publisher_path_receive_bps\{stream="live\/bond",path="127\.0\.0\.2:\d+"\}/);
  } finally {
    await sender.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
