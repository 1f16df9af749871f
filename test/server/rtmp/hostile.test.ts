import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../src/server/Registry.js';
import { RtmpServer } from '../../../src/server/rtmp/RtmpServer.js';
import type { RtmpLogger } from '../../../src/server/rtmp/types.js';
import { RawClient } from './RawClient.js';
import { framesIn, publish, stop, withTimeout } from './tools.js';

/** Collects warn lines so each hostile case can be shown to leave one. */
function recordingLogger(): RtmpLogger & { warns: string[] } {
  const warns: string[] = [];
  return { warns, info() {}, debug() {}, error: (_o, m) => warns.push(`error: ${m}`), warn: (_o, m) => warns.push(m ?? '') };
}

test('hostile connections are closed or their messages dropped while a real stream and its viewer carry on', async () => {
  const registry = new Registry();
  const logger = recordingLogger();
  const server = new RtmpServer({ registry, logger, handshakeTimeoutMs: 300, idleTimeoutMs: 1500, maxMessageBytes: 1 << 20 });
  const port = await server.listen(0, '127.0.0.1');
  const stream = registry.app('live').stream('good');
  const pub = publish(`rtmp://127.0.0.1:${port}/live/good`, 25);
  const clients: RawClient[] = [];
  try {
    await framesIn(stream, 10);
    const viewer = await RawClient.open(port);
    clients.push(viewer);
    await viewer.handshake();
    const sid = await viewer.connectAndCreate();
    viewer.command(sid, 'play', 3, null, 'good');
    await viewer.waitForCommand('onStatus', 'NetStream.Play.Start');
    await viewer.waitFor((m) => m.type === 9);

    const expectClosed = async (what: string, reason: string, attack: (c: RawClient) => Promise<void> | void): Promise<void> => {
      const before = server.stats.errors[reason] ?? 0;
      const c = await RawClient.open(port);
      clients.push(c);
      await attack(c);
      await withTimeout(c.closed, 5000, `${what}: connection closed`);
      assert.equal(server.stats.errors[reason], before + 1, `${what} counted under "${reason}": ${JSON.stringify(server.stats.errors)}`);
      assert.ok(logger.warns.some((w) => w.includes(reason)), `${what} logged`);
    };

    await expectClosed('HTTP request instead of a handshake', 'bad handshake', (c) => void c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await expectClosed('silence after connecting', 'handshake timeout', () => undefined);
    await expectClosed('chunk size 0', 'bad chunk size', async (c) => {
      await c.handshake();
      c.send(2, 1, 0, 0, new Uint8Array([0, 0, 0, 0]));
    });
    await expectClosed('chunk size 2^31-1', 'bad chunk size', async (c) => {
      await c.handshake();
      c.send(2, 1, 0, 0, new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
    });
    await expectClosed('message length beyond the limit', 'message too long', async (c) => {
      await c.handshake();
      c.socket.write(new Uint8Array([0x04, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0, 0, 1, 2, 3]));
    });
    await expectClosed('AMF garbage in a command', 'bad amf', async (c) => {
      await c.handshake();
      c.send(3, 20, 0, 0, new Uint8Array([0x02, 0xff, 0xff, 0x41, 0x42]));
    });
    await expectClosed('a command before connect', 'bad command', async (c) => {
      await c.handshake();
      c.command(0, 'publish', 5, null, 'x');
    });
    await expectClosed('a connection that goes quiet', 'idle timeout', async (c) => {
      await c.handshake();
    });

    // Dropped, not closed: unknown message types, video before config, time going backwards.
    const raw = await RawClient.open(port);
    clients.push(raw);
    await raw.handshake();
    raw.send(3, 0x7f, 0, 0, new Uint8Array([1, 2, 3]));
    const rsid = await raw.connectAndCreate();
    raw.command(rsid, 'publish', 3, null, 'raw', 'live');
    await raw.waitForCommand('onStatus', 'NetStream.Publish.Start');
    const rawStream = registry.find('live', 'raw')!;
    const dropsBefore = rawStream.framesDropped;
    raw.send(6, 9, rsid, 1000, new Uint8Array([0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65])); // keyframe, no config yet
    // AVCDecoderConfigurationRecord (baseline 320x240 SPS/PPS as x264 writes them), then frames at 5000 and 1000 ms.
    const sps = [0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xa4, 0x80];
    const pps = [0x68, 0xcb, 0x83, 0xcb, 0x20];
    raw.send(6, 9, rsid, 0, new Uint8Array([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0, sps.length, ...sps, 1, 0, pps.length, ...pps]));
    raw.send(6, 9, rsid, 5000, new Uint8Array([0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]));
    raw.send(6, 9, rsid, 1000, new Uint8Array([0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41]));
    // A command round trip after the media: the server has handled everything sent before it.
    raw.command(0, 'getStreamLength', 9, null, 'raw');
    await raw.waitForReply(9);
    assert.equal(rawStream.videoConfig?.width, 320, 'the config between the bad frames was taken');
    assert.equal(rawStream.framesDropped - dropsBefore, 2, 'video before config and the frame 4 s back in time were dropped');
    assert.ok(server.stats.messagesDropped >= 3);
    assert.equal(raw.isClosed, false, 'dropping messages does not close the connection');

    // The real publisher and its viewer never noticed.
    const seen = viewer.count(9);
    await viewer.waitFor((m) => m.type === 9 && viewer.count(9) > seen + 15, 5000);
    assert.equal(viewer.isClosed, false);
    assert.equal(stream.publisher?.protocol, 'rtmp');
    assert.ok(!logger.warns.some((w) => w.startsWith('error')), logger.warns.join('\n'));
    console.log(`hostile: stats ${JSON.stringify(server.snapshot())}`);
  } finally {
    for (const c of clients) c.close();
    await stop(pub);
    await server.close();
    registry.close();
  }
});
