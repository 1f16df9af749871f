import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { makeToken } from '../../../src/server/auth.js';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';
import { FlvReader } from './flvReader.js';
import { ffprobe, httpGet, pushRtmp, stop, waitFor } from './tools.js';

const secret = 'rtmp-test-secret-0123456789';
let server: Server;
let http: string;
let rtmp: string;

before(async () => {
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, auth: { secret, publish: true } }), { logger: createLogger('silent') });
  const a = await server.start();
  http = `127.0.0.1:${a.httpPort}`;
  rtmp = `rtmp://127.0.0.1:${a.rtmpPort}`;
});

after(() => server.close());

const token = (expiresAt = Date.now() + 60_000) => makeToken(secret, { action: 'publish', app: 'live', key: 'k', expiresAt });

test('a publish with a wrong or expired token is refused and nothing goes live', async () => {
  for (const t of ['nope', token(Date.now() - 1000), makeToken(secret, { action: 'publish', app: 'live', key: 'other', expiresAt: Date.now() + 60_000 })]) {
    const p = pushRtmp(`${rtmp}/live/k?token=${t}`, 5);
    const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    assert.notEqual(code, 0, `ffmpeg with token ${t} should fail`);
    assert.equal(server.registry.find('live', 'k')?.isLive ?? false, false);
  }
  assert.ok(server.rtmp.stats.publishesRefused >= 3);
});

test('ffmpeg pushes RTMP with a token; HTTP-FLV, WS-FLV, the API and /metrics all see it', async () => {
  const push = pushRtmp(`${rtmp}/live/k?token=${token()}`, 30);
  try {
    await waitFor('stream live', () => (server.registry.find('live', 'k')?.videoConfig ? true : undefined), 15_000);
    const probe = await ffprobe(`http://${http}/live/k.flv`, 2);
    const v = probe.streams.find((s) => s.codec_type === 'video');
    const a = probe.streams.find((s) => s.codec_type === 'audio');
    assert.deepEqual([v?.codec_name, v?.width, v?.height, a?.codec_name], ['h264', 320, 240, 'aac']);
    assert.ok(Number(v?.nb_read_frames) > 10 && Number(a?.nb_read_frames) > 10, JSON.stringify(probe));

    const reader = new FlvReader();
    const ws = new WebSocket(`ws://${http}/live/k.flv`);
    ws.on('message', (d: Buffer) => reader.push(d));
    try {
      await waitFor('WS-FLV frames', () => (reader.outputs.filter((o) => o.type === 'frame').length > 30 ? true : undefined));
      assert.deepEqual(reader.outputs.filter((o) => o.type === 'config').map((o) => o.type === 'config' && o.config.codec), ['h264', 'aac']);
      const info = await waitFor('bitrate', async () => {
        const j = JSON.parse((await httpGet(`http://${http}/api/streams/live/k`)).body);
        return j.bitrateKbps > 0 ? j : undefined;
      });
      assert.equal(info.publisher.protocol, 'rtmp');
      assert.match(info.publisher.address, /^127\.0\.0\.1:\d+$/);
      assert.deepEqual([info.video.codec, info.video.width, info.video.height], ['h264', 320, 240]);
      assert.equal(info.viewers['ws-flv'], 1);
      assert.ok(info.fps > 15, `fps ${info.fps}`);
      const m = (await httpGet(`http://${http}/metrics`)).body;
      assert.match(m, /^tributary_listener_connections\{listener="rtmp"\} 1$/m);
      assert.match(m, /^tributary_listener_connections_rejected\{listener="rtmp"\} [3-9]$/m);
      assert.match(m, /^tributary_viewers\{protocol="ws-flv"\} 1$/m);
      assert.match(m, /^tributary_streams 1$/m);
    } finally {
      ws.close();
    }
  } finally {
    await stop(push);
  }
});
