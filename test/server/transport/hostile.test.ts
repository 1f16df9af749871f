import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Server } from '../../../src/server/Server.js';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { connectMedia } from '../../../src/client/connectMedia.js';
import { TransportClient } from '../../../src/net/index.js';
import { encodeConfig, encodeFrame, encodeHello, OPEN_PSK, sessionIdentity } from '../../../src/media/tributary/index.js';
import { AUDIO_CONFIG, VIDEO_CONFIG } from '../../../src/bench/fanout/stream.js';
import type { MediaFrame } from '../../../src/media/frame.js';

const quiet = { warn: () => {}, debug: () => {} };

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const frame = (dts: number, keyframe: boolean, size = 500): MediaFrame => ({ kind: 'video', codec: 'h264', dts, pts: dts, keyframe, reference: true, data: new Uint8Array(size).fill(1), captureTime: Date.now() });

test('lying senders are refused or dropped and counted while an honest stream on the same server plays on', { timeout: 60_000 }, async () => {
  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const { transportPort } = await server.start();
  const url = (key: string) => `tributary://127.0.0.1:${transportPort}/live/${key}`;
  const honest = await connectMedia(url('good'), 'publish');
  const liars: TransportClient[] = [];
  let dts = 0;
  const feed = setInterval(() => {
    honest.session.sendFrame({ kind: 'video', data: encodeFrame(frame(dts, dts % 1000 === 0)), deadlineMs: 1000, keyframe: dts % 1000 === 0 });
    dts += 40;
  }, 40);
  try {
    honest.session.sendFrame({ kind: 'control', data: encodeConfig(VIDEO_CONFIG) });
    const good = server.registry.find('live', 'good')!;
    await until(() => good.isLive && good.rates().fps > 0, 5000, 'the honest stream flows');

    // 1. A hello that does not match the handshake's identity.
    const mismatch = await TransportClient.connect({ host: '127.0.0.1', port: transportPort, psk: OPEN_PSK, identity: sessionIdentity('publish', 'live', 'a', undefined), tcp: 'never', logger: quiet });
    liars.push(mismatch);
    mismatch.session.sendFrame({ kind: 'control', data: encodeHello('publish', 'live', 'good') });
    // 2. Garbage as the first message.
    const garbage = await TransportClient.connect({ host: '127.0.0.1', port: transportPort, psk: OPEN_PSK, identity: sessionIdentity('publish', 'live', 'b', undefined), tcp: 'never', logger: quiet });
    liars.push(garbage);
    garbage.session.sendFrame({ kind: 'control', data: new Uint8Array([0xff, 1, 2, 3]) });
    // 3. A publisher that lies after a proper hello: config that doesn't parse, absurd times,
    //    frames before config, time going backwards, a stream flood.
    const liar = await connectMedia(url('c'), 'publish');
    liars.push(liar.client);
    const bad = [
      new Uint8Array([0x12, 1, 0, 0xff]), // config with a broken body
      encodeFrame(frame(1000, true)), // video before its config
      Uint8Array.from([0x11, 1, 0x03, ...new Uint8Array(16).fill(0x7f)]), // absurd dts
    ];
    for (const d of bad) liar.session.sendFrame({ kind: 'control', data: d });
    liar.session.sendFrame({ kind: 'control', data: encodeConfig(AUDIO_CONFIG) });
    liar.session.sendFrame({ kind: 'video', data: encodeFrame(frame(5000, true)), deadlineMs: 1000 });
    liar.session.sendFrame({ kind: 'video', data: encodeFrame(frame(100, false)), deadlineMs: 1000 });
    for (let i = 0; i < 300; i++) liar.session.openStream({ class: 'video', reliability: 'deadline', priority: 2 });
    // 4. A handshake that never completes, and unauthenticated junk, from raw sockets.
    const raw = createSocket('udp4');
    const initial = new Uint8Array(1200);
    initial.set([1, 1, 9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (let i = 0; i < 200; i++) raw.send(i % 2 ? initial : new Uint8Array(40).fill(i), transportPort, '127.0.0.1');

    await until(() => server.transport.stats.refused >= 2, 5000, 'the mismatched and garbage hellos are refused');
    await until(() => server.transport.stats.messagesDropped >= 3, 5000, 'the lies are dropped and counted');
    const c = server.registry.find('live', 'c');
    assert.ok(c && c.framesDropped >= 1, 'frames before config / going backwards are refused by the stream');
    const fpsBefore = good.rates().fps;
    const framesBefore = dts;
    await until(() => dts > framesBefore + 400, 5000, 'time passes');
    assert.ok(good.isLive && good.rates().fps > 0 && fpsBefore > 0, 'the honest stream still flows');
    assert.equal(server.registry.find('live', 'good')!.publisher?.protocol, 'tributary');
    raw.close();
  } finally {
    clearInterval(feed);
    for (const l of liars) await l.close();
    await honest.client.close();
    await server.close();
  }
});
