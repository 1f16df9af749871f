import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';
import { FlvDemuxer } from '../../../src/media/flv/FlvDemuxer.js';
import { AUDIO_CONFIG, VIDEO_CONFIG, frameId, makeSource, toMediaFrame } from '../../../src/bench/fanout/stream.js';
import { waitFor } from './tools.js';

/*
 * The soak's WS-FLV (and HTTP-FLV) losses: viewers from different loopback addresses often get
 * the same ephemeral port, and the kernel poller named a socket by its two ports alone. Two
 * sockets "8080:P" made P's reading unknown for as long as the other one lived; the keeping-up
 * viewer was then judged by its last sample plus everything written since, reached the 512 KiB
 * kernel estimate, and skipped keyframe to keyframe (never cut: there was no evidence) until
 * the twin went. Here a real `ws` client reads a 1 Mbit/s stream for 30 s beside WS viewers
 * that never read, one of them from another address on the reader's own port.
 */

const READ_MS = 30_000;

/** A WebSocket upgrade by hand that never reads after it (the socket stays paused). */
function deadWs(port: number, localAddress: string, localPort?: number): Socket {
  const s = connect({ port, host: '127.0.0.1', localAddress, ...(localPort ? { localPort } : {}) }, () => {
    s.write(`GET /live/twins.flv HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    s.pause();
  });
  s.on('error', () => undefined);
  return s;
}

test('a WS-FLV viewer that keeps up loses no frame and is never skipped beside non-reading viewers, one of them on its port from another address', { skip: process.platform !== 'linux' && 'the kernel poller reads /proc/net/tcp (Linux)', timeout: 55_000 }, async () => {
  const server = new Server(
    parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, viewer: { stallCutMs: 3000 } }),
    { logger: createLogger('silent') },
  );
  const { httpPort } = await server.start();
  const stream = server.registry.app('live').stream('twins');
  const publisher = { id: 'pump', protocol: 'test-pump', remoteAddress: '127.0.0.1:0', close: () => undefined };
  stream.publish(publisher);
  stream.pushConfig(VIDEO_CONFIG);
  stream.pushConfig(AUDIO_CONFIG);
  const source = makeSource(1_000_000, 3);
  const t0 = performance.now();
  const pump = setInterval(() => {
    for (const f of source.take(performance.now() - t0)) stream.pushFrame({ ...toMediaFrame(f), captureTime: Date.now() });
  }, 10);
  const dead: Socket[] = [];
  let ws: WebSocket | undefined;
  try {
    await new Promise((r) => setTimeout(r, 2500)); // a GOP in the cache
    const demuxer = new FlvDemuxer();
    let first: number | undefined;
    let last: number | undefined;
    let received = 0;
    let lost = 0;
    let localPort = 0;
    ws = new WebSocket(`ws://127.0.0.1:${httpPort}/live/twins.flv`, { perMessageDeflate: false, localAddress: '127.0.0.2' });
    ws.on('upgrade', (res) => (localPort = res.socket.localPort ?? 0));
    ws.on('message', (data: Buffer) => {
      for (const o of demuxer.push(data)) {
        if (o.type !== 'frame' || o.frame.kind === 'data') continue;
        const id = frameId(o.frame);
        if (id === undefined) continue;
        first ??= id;
        if (last !== undefined && id > last + 1) lost += id - last - 1;
        if (last === undefined || id > last) last = id;
        received++;
      }
    });
    await waitFor('the reader open', () => (ws!.readyState === WebSocket.OPEN && localPort ? true : undefined), 5000);
    // The twin: another address, the reader's port. And two more that never read.
    dead.push(deadWs(httpPort, '127.0.0.3', localPort), deadWs(httpPort, '127.0.0.4'), deadWs(httpPort, '127.0.0.5'));
    const viewers = () => [...stream.subscribers.values()];
    await waitFor('four WS-FLV viewers', () => (viewers().length === 4 ? true : undefined), 5000);
    const reader = viewers().find((s) => s.remoteAddress === `127.0.0.2:${localPort}`);
    assert.ok(reader, `the reader among ${viewers().map((s) => s.remoteAddress).join(', ')}`);
    assert.ok(viewers().some((s) => s.remoteAddress === `127.0.0.3:${localPort}`), 'the twin shares the reader\'s port');
    await new Promise((r) => setTimeout(r, READ_MS));
    // Before the fix: ~4 s in, the reader stopped getting frames (some 1,600 of 2,000 lost in 30 s), all of them skipped by the server.
    assert.equal(reader.skippedFrames, 0, `frames the server skipped for the reader (it got ${received})`);
    assert.equal(lost, 0, `frames the reader missed between ${first} and ${last} (it got ${received})`);
    assert.ok(received > (READ_MS / 1000) * 60, `the reader got ${received} frames in ${READ_MS / 1000} s (30 video + 50 audio a second)`);
    assert.equal(reader.isClosed, false);
    // The rule still works for the ones that never read, the twin included: cut on the kernel's evidence.
    await waitFor('the non-reading viewers cut', () => (viewers().length === 1 ? true : undefined), 10_000);
  } finally {
    clearInterval(pump);
    ws?.terminate();
    for (const s of dead) s.destroy();
    await server.close();
  }
});
