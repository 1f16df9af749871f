import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Registry } from '../../../src/server/Registry.js';
import { RtmpServer } from '../../../src/server/rtmp/RtmpServer.js';
import { RtmpPushClient } from '../../../src/server/rtmp/RtmpPushClient.js';
import type { MediaFrame } from '../../../src/media/frame.js';
import { AUDIO_CONFIG, VIDEO_CONFIG } from '../../../src/bench/fanout/stream.js';

test('the push client publishes metadata, configs and frames that arrive intact in the stream; a second publisher is refused with the reason', async () => {
  const registry = new Registry();
  const server = new RtmpServer({ registry });
  const port = await server.listen(0, '127.0.0.1');
  const c = await RtmpPushClient.publish(`rtmp://127.0.0.1:${port}/live/cam`);
  try {
    const stream = registry.find('live', 'cam');
    assert.ok(stream?.isLive);
    const got: MediaFrame[] = [];
    stream.on('frame', (f: MediaFrame) => got.push(f));
    c.sendMetadata({ width: 320, height: 240 });
    c.sendConfig(VIDEO_CONFIG);
    c.sendConfig(AUDIO_CONFIG);
    const key = new Uint8Array([0, 0, 0, 4, 0x65, 1, 2, 3]);
    c.sendFrame({ kind: 'video', codec: 'h264', dts: 0, pts: 40, keyframe: true, reference: true, data: key });
    c.sendFrame({ kind: 'audio', codec: 'aac', dts: 10, pts: 10, keyframe: false, reference: true, data: new Uint8Array(9000).fill(7) });
    while (got.length < 2) await once(stream, 'frame');
    assert.equal(stream.videoConfig?.width, 320);
    assert.deepEqual([...got[0]!.data], [...key]);
    assert.equal(got[0]!.pts - got[0]!.dts, 40);
    assert.equal(got[1]!.data.length, 9000, 'a message larger than the chunk size arrives whole');
    await assert.rejects(RtmpPushClient.publish(`rtmp://127.0.0.1:${port}/live/cam`), /publish refused: NetStream\.Publish\.BadName/);
  } finally {
    c.close();
    await server.close();
    registry.close();
  }
});

test('the push client reports an unreachable server and a bad URL', async () => {
  await assert.rejects(RtmpPushClient.publish('http://127.0.0.1/live/x'), /not an rtmp:\/\/ URL/);
  await assert.rejects(RtmpPushClient.publish('rtmp://127.0.0.1:1/live'), /app\/key/);
  await assert.rejects(RtmpPushClient.publish('rtmp://127.0.0.1:1/live/x'), /ECONNREFUSED/);
});
