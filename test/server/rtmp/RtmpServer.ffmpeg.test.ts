import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '../../../src/server/Registry.js';
import { RtmpServer } from '../../../src/server/rtmp/RtmpServer.js';
import { framesIn, publish, run, stop, withTimeout } from './tools.js';

test('ffmpeg publishes H.264/AAC, ffmpeg plays it back over RTMP, a second publisher is refused', async () => {
  const registry = new Registry();
  const server = new RtmpServer({ registry });
  const port = await server.listen(0, '127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), 'rtmp-'));
  const stream = registry.app('live').stream('test');
  const pub = publish(`rtmp://127.0.0.1:${port}/live/test`, 20);
  try {
    await framesIn(stream, 30);
    assert.equal(stream.videoConfig?.codec, 'h264');
    assert.equal(stream.videoConfig?.width, 320);
    assert.equal(stream.audioConfig?.codec, 'aac');
    assert.ok(stream.metadata && stream.metadata['width'] === 320, 'onMetaData from @setDataFrame reached the stream');
    assert.equal(server.stats.handshakesComplex, 1, 'ffmpeg uses the digest handshake and accepts our S1/S2');

    // A second publisher to the live key is refused; the first one keeps going.
    const second = publish(`rtmp://127.0.0.1:${port}/live/test`, 5);
    const code = await withTimeout(second.exited, 15_000, 'second publisher to exit');
    assert.notEqual(code, 0, 'the second publisher fails');
    assert.match(second.stderr(), /already being published|BadName/, second.stderr());
    assert.equal(server.stats.publishesRefused, 1);
    assert.equal(stream.publisher?.protocol, 'rtmp');
    await framesIn(stream, 30);

    // RTMP play by ffmpeg, copied to an FLV file that ffprobe reads back.
    const out = join(dir, 'out.flv');
    const play = run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-rw_timeout', '10000000', '-i', `rtmp://127.0.0.1:${port}/live/test`, '-t', '2', '-c', 'copy', '-f', 'flv', '-y', out]);
    assert.equal(await withTimeout(play.exited, 20_000, 'ffmpeg play'), 0, play.stderr());
    assert.ok(statSync(out).size > 10_000);
    const probe = run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,codec_name,width,height,nb_read_frames', '-of', 'json', out]);
    let json = '';
    probe.child.stdout!.on('data', (d: Buffer) => (json += d));
    assert.equal(await probe.exited, 0, probe.stderr());
    const streams = (JSON.parse(json) as { streams: { codec_type: string; codec_name: string; width?: number; height?: number; nb_read_frames?: string }[] }).streams;
    const v = streams.find((s) => s.codec_type === 'video');
    const a = streams.find((s) => s.codec_type === 'audio');
    assert.equal(v?.codec_name, 'h264');
    assert.equal(v?.width, 320);
    assert.equal(v?.height, 240);
    assert.equal(a?.codec_name, 'aac');
    console.log(`rtmp play: ${v?.nb_read_frames} video frames, ${a?.nb_read_frames} audio frames in 2 s; stats ${JSON.stringify(server.snapshot())}`);
    assert.ok(Number(v?.nb_read_frames) >= 40, `video frames read: ${v?.nb_read_frames}`);
    assert.equal(server.stats.plays, 1);
  } finally {
    await stop(pub);
    await server.close();
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
