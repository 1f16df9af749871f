// Real libsrt peers against the server's SRT listener: ffmpeg's srt:// caller and
// srt-live-transmit, publishing (with and without a passphrase) and playing (m=request), with
// the published stream checked on every other output. Needs ffmpeg/ffprobe and srt-tools.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../../src/server/Server.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { makeToken } from '../../src/server/auth.js';
import { Player } from '../../src/client/play/Player.js';
import { ffprobe, httpGet, stop, waitFor } from '../server/http/tools.js';
import { countFrames, exited, pushSrt, requireSrtLiveTransmit, run } from './tools.js';

const PORT = 22010;
const PASS_PORT = 22011;
const SECRET = 'a test secret of enough length';
let server: Server;
let secured: Server;
let http = 0;
let rtmp = 0;
let transport = 0;
const dir = mkdtempSync(join(tmpdir(), 'srt-peers-'));
const quiet = () => createLogger('silent');

before(async () => {
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: PORT }, auth: { secret: SECRET, publish: false, play: false } }), { logger: quiet() });
  ({ httpPort: http, rtmpPort: rtmp, transportPort: transport } = await server.start());
  secured = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: PASS_PORT, passphrase: 'srt passphrase 42' }, auth: { secret: SECRET, publish: true, play: false } }), { logger: quiet() });
  await secured.start();
});

after(async () => {
  await Promise.all([server?.close(), secured?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

test('an ffmpeg caller publishing APP/KEY reaches HTTP-FLV, RTMP, LL-HLS and transport viewers', async () => {
  const push = pushSrt(`srt://127.0.0.1:${PORT}?streamid=live/obs&latency=200000`, 12);
  try {
    const stream = await waitFor('the SRT publish', () => (server.registry.find('live', 'obs')?.framesIn ?? 0) > 30 ? server.registry.find('live', 'obs') : undefined, 10_000);
    assert.equal(stream.publisher?.protocol, 'srt');
    assert.equal(stream.videoConfig?.codec, 'h264');
    assert.equal(stream.audioConfig?.codec, 'aac');
    for (const url of [`http://127.0.0.1:${http}/live/obs.flv`, `rtmp://127.0.0.1:${rtmp}/live/obs`]) {
      const p = await ffprobe(url, 2);
      const v = p.streams.find((s) => s.codec_type === 'video');
      assert.equal(v?.codec_name, 'h264', url);
      assert.equal(v?.width, 320, url);
      assert.ok(Number(v?.nb_read_frames) >= 20, `${url}: ${v?.nb_read_frames} video frames`);
    }
    const hls = await waitFor('an LL-HLS playlist with parts', async () => {
      const r = await httpGet(`http://127.0.0.1:${http}/live/obs/index.m3u8`);
      return r.status === 200 && r.body.includes('#EXT-X-PART:') ? r.body : undefined;
    }, 10_000);
    assert.match(hls, /#EXTINF/);
    const frames: number[] = [];
    const player = await Player.start(`tributary://127.0.0.1:${transport}/live/obs?fp=${server.transport.fingerprint}`, { format: 'flv', write: () => true, onFrame: (f) => void (f.kind === 'video' && frames.push(f.dts)) });
    try {
      await waitFor('transport viewer frames', () => (frames.length >= 25 ? true : undefined), 10_000);
    } finally {
      await player.close();
    }
    const conn = [...server.srt!.listener.connections.values()][0]!.conn;
    assert.equal(conn.o.recvLatencyMs, 200, 'the caller asked for 200 ms');
  } finally {
    await stop(push);
  }
});

test('ffmpeg plays a live stream with m=request: MPEG-TS that decodes', async () => {
  const push = pushSrt(`srt://127.0.0.1:${PORT}?streamid=%23!::r=live/req,m=publish`, 10);
  try {
    await waitFor('the publish', () => ((server.registry.find('live', 'req')?.framesIn ?? 0) > 10 ? true : undefined), 10_000);
    const file = join(dir, 'play.ts');
    const r = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-analyzeduration', '1000000', '-i', `srt://127.0.0.1:${PORT}?streamid=%23!::r=live/req,m=request`, '-t', '3', '-c', 'copy', '-f', 'mpegts', '-y', file]);
    assert.equal(r.code, 0, r.stderr);
    const n = await countFrames(file);
    assert.ok(n.video >= 45, `video frames ${n.video}`);
    assert.ok(n.audio >= 60, `audio frames ${n.audio}`);
    // A request for a stream nobody publishes is rejected (1404), not left hanging.
    const none = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', `srt://127.0.0.1:${PORT}?streamid=%23!::r=live/nobody,m=request`, '-t', '1', '-f', 'null', '-'], 15_000);
    assert.notEqual(none.code, 0);
    assert.ok((server.srt!.counters['rejected 1404'] ?? 0) >= 1);
    const metrics = await httpGet(`http://127.0.0.1:${http}/metrics`);
    assert.match(metrics.body, /tributary_connections_limited_total\{listener="srt",reason="rejected_1404"\} [1-9]/);
  } finally {
    await stop(push);
  }
});

test('srt-live-transmit publishes and plays as a caller', async () => {
  requireSrtLiveTransmit();
  const udpPort = 22015;
  const slt = spawn('srt-live-transmit', ['-q', `udp://127.0.0.1:${udpPort}`, `srt://127.0.0.1:${PORT}?streamid=#!::r=live/slt,m=publish`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const push = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-f', 'mpegts', `udp://127.0.0.1:${udpPort}?pkt_size=1316`], { stdio: 'ignore' });
  try {
    await waitFor('the srt-live-transmit publish', () => ((server.registry.find('live', 'slt')?.framesIn ?? 0) > 25 ? true : undefined), 10_000);
    assert.equal(server.registry.find('live', 'slt')?.publisher?.protocol, 'srt');
    const out = join(dir, 'slt.ts');
    const player = spawn('sh', ['-c', `exec srt-live-transmit -q "srt://127.0.0.1:${PORT}?streamid=#!::r=live/slt,m=request" file://con > ${out}`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 3000));
    await stop(player);
    const n = await countFrames(out);
    assert.ok(n.video >= 40, `video frames ${n.video}`);
  } finally {
    await stop(push);
    await stop(slt);
  }
});

test('passphrase: ffmpeg and srt-live-transmit publish encrypted; a wrong or missing passphrase, or no token, is refused', async () => {
  requireSrtLiveTransmit();
  const token = (key: string) => makeToken(SECRET, { action: 'publish', app: 'live', key, expiresAt: Date.now() + 60_000 });
  const base = `srt://127.0.0.1:${PASS_PORT}?streamid=%23!::r=live/enc,m=publish,t=${token('enc')}`;
  const push = pushSrt(`${base}&passphrase=srt passphrase 42`, 6);
  try {
    const s = await waitFor('the encrypted publish', () => ((secured.registry.find('live', 'enc')?.framesIn ?? 0) > 25 ? secured.registry.find('live', 'enc') : undefined), 10_000);
    const conn = [...secured.srt!.listener.connections.values()][0]!.conn;
    assert.ok(conn.o.cipher, 'encrypted');
    assert.equal(conn.stats().undecryptable, 0);
    assert.equal(s.framesDropped, 0);
  } finally {
    await stop(push);
  }
  const refused = async (url: string) => {
    const r = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc', '-t', '1', '-c:v', 'libx264', '-f', 'mpegts', url], 15_000);
    assert.notEqual(r.code, 0, url);
  };
  await refused(`${base}&passphrase=the wrong one`);
  await refused(base);
  await refused(`srt://127.0.0.1:${PASS_PORT}?streamid=%23!::r=live/enc2,m=publish&passphrase=srt passphrase 42`);
  const c = secured.srt!.counters;
  assert.equal(c['rejected 10'], 1, JSON.stringify(c));
  assert.equal(c['rejected 11'], 1, JSON.stringify(c));
  assert.equal(c['rejected 1401'], 1, JSON.stringify(c));
  // srt-live-transmit with the passphrase, the libsrt reference tool.
  const udpPort = 22016;
  const slt = spawn('srt-live-transmit', ['-q', `udp://127.0.0.1:${udpPort}`, `srt://127.0.0.1:${PASS_PORT}?streamid=#!::r=live/slt2,m=publish,t=${token('slt2')}&passphrase=srt passphrase 42&pbkeylen=32`], { stdio: 'ignore' });
  const feed = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-f', 'mpegts', `udp://127.0.0.1:${udpPort}?pkt_size=1316`], { stdio: 'ignore' });
  try {
    await waitFor('the AES-256 publish', () => ((secured.registry.find('live', 'slt2')?.framesIn ?? 0) > 25 ? true : undefined), 10_000);
  } finally {
    await stop(feed);
    await stop(slt);
  }
});
