import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { publish, stop } from '../rtmp/tools.js';
import { ChildServer } from './child.js';
import { MB } from './attack.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A WebSocket upgrade on a bare socket, so the test can write any frames it likes. Reads (and drops) what the server sends. */
async function rawWs(port: number, path: string): Promise<Socket> {
  for (let tries = 0; ; tries++) {
    const s = connect({ port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    s.setNoDelay(true);
    await once(s, 'connect');
    s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    const [first] = (await once(s, 'data')) as [Buffer];
    if (first.toString('latin1').startsWith('HTTP/1.1 101')) {
      s.resume();
      return s;
    }
    s.destroy();
    if (tries > 40) throw new Error(`no upgrade: ${first.toString('latin1').split('\r\n')[0]}`);
    await sleep(250); // the stream is not live yet
  }
}

/** A masked client frame. */
function frame(fin: boolean, opcode: number, payload: number): Buffer {
  const len = payload < 126 ? [payload] : [126, payload >> 8, payload & 255];
  return Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len[0]!, ...len.slice(1), 1, 2, 3, 4, ...new Array<number>(payload).fill(0x61)]);
}

/** Resolves on 'close' (once() would reject on the 'error' before it). */
const onClose = (s: Socket): Promise<void> => new Promise((r) => s.once('close', () => r()));

async function closedWithin(s: Socket, ms: number): Promise<boolean> {
  if (s.destroyed) return true;
  return Promise.race([onClose(s).then(() => true), sleep(ms).then(() => false)]);
}

test('WebSocket viewers: a message fragmented a byte per 64 KiB of pongs, or a frame trickled a byte per read, closes the connection; a real viewer keeps playing', async () => {
  const child = await ChildServer.start({}, 256);
  const pub = publish(`rtmp://127.0.0.1:${child.rtmpPort}/live/good`, 600); // stopped at the end; long enough for a loaded machine
  const sockets: Socket[] = [];
  let real: WebSocket | undefined;
  try {
    const fragged = await rawWs(child.httpPort, '/live/good.flv');
    sockets.push(fragged);
    let got = 0;
    real = new WebSocket(`ws://127.0.0.1:${child.httpPort}/live/good.flv`);
    real.on('message', () => got++);
    await once(real, 'open');
    const before = await child.mem();

    // Each write: one byte of a binary message that never ends, then 500 unsolicited pongs
    // (125 bytes each; control frames may come between fragments, and a pong gets no answer).
    const pongs = Buffer.concat(Array.from({ length: 500 }, () => frame(true, 10, 125)));
    const writes = 600;
    let sent = 0;
    for (; sent < writes && !fragged.destroyed; sent++) {
      if (!fragged.write(Buffer.concat([frame(false, sent === 0 ? 2 : 0, 1), pongs]))) await Promise.race([once(fragged, 'drain').catch(() => undefined), onClose(fragged)]);
    }
    const closed = await closedWithin(fragged, 2000);
    const mid = await child.mem();
    console.log(`fragments: ${sent} writes of ${MB(pongs.length + 7)} sent before the close; array buffers ${MB(before.arrayBuffers)} -> ${MB(mid.arrayBuffers)}; refused ${JSON.stringify(mid.http)}`);
    assert.equal(closed, true, 'the fragmenting viewer is closed');
    assert.ok(mid.arrayBuffers - before.arrayBuffers < 8 << 20, `array buffers grew ${MB(mid.arrayBuffers - before.arrayBuffers)}`);

    // One 1000-byte frame, a byte per read.
    const trickled = await rawWs(child.httpPort, '/live/good.flv');
    sockets.push(trickled);
    const big = frame(true, 2, 1000);
    let reads = 0;
    for (; reads < 300 && !trickled.destroyed; reads++) {
      trickled.write(big.subarray(reads, reads + 1));
      await sleep(5);
    }
    assert.equal(await closedWithin(trickled, 2000), true, `the trickling viewer is closed (after ${reads} one-byte writes)`);
    const m = await child.mem();
    assert.equal(m.http['ws input'], 2, JSON.stringify(m.http));
    assert.match(child.log, /http: connection refused: ws input/);

    const seen = got;
    await sleep(1000);
    assert.ok(got > seen + 10, `the real viewer kept getting tags (${got - seen} in 1 s)`);
    assert.equal(real.readyState, WebSocket.OPEN);
  } finally {
    real?.terminate();
    for (const s of sockets) s.destroy();
    await stop(pub);
    await child.stop();
  }
});

test('HTTP: a connection pipelining a thousand FLV requests is closed at the ninth, once, without a thousand viewers', async () => {
  const child = await ChildServer.start({}, 256);
  const pub = publish(`rtmp://127.0.0.1:${child.rtmpPort}/live/good`, 600); // stopped at the end; long enough for a loaded machine
  try {
    const probe = await rawWs(child.httpPort, '/live/good.flv'); // waits until the stream is live
    probe.destroy();
    const before = await child.mem();
    const s = connect({ port: child.httpPort, host: '127.0.0.1' });
    s.on('error', () => undefined);
    await once(s, 'connect');
    s.resume();
    s.write(Array.from({ length: 1000 }, () => 'GET /live/good.flv HTTP/1.1\r\nHost: x\r\n\r\n').join(''));
    assert.equal(await closedWithin(s, 3000), true, 'closed');
    const after = await child.mem();
    console.log(`pipelining: heap ${MB(before.heapUsed)} -> ${MB(after.heapUsed)}, refused ${JSON.stringify(after.http)}`);
    assert.equal(after.http['pipelining'], 1);
    assert.ok(after.heapUsed - before.heapUsed < 4 << 20, `heap grew ${MB(after.heapUsed - before.heapUsed)}`);
    assert.match(child.log, /http: connection refused: pipelining/);
  } finally {
    await stop(pub);
    await child.stop();
  }
});

test('HTTP: requests with a body are refused with 413 and their connection closed, so no body sits unread beside a running FLV response', async () => {
  const child = await ChildServer.start({ http: { maxConnections: 5000 } }, 256);
  const pub = publish(`rtmp://127.0.0.1:${child.rtmpPort}/live/good`, 600); // stopped at the end; long enough for a loaded machine
  const sockets: Socket[] = [];
  try {
    (await rawWs(child.httpPort, '/live/good.flv')).destroy(); // waits until the stream is live
    const before = await child.mem();
    const body = Buffer.alloc(1 << 20, 0x61);
    const answers: Promise<string>[] = [];
    for (let i = 0; i < 400; i++) {
      const s = connect({ port: child.httpPort, host: '127.0.0.1' });
      s.on('error', () => undefined);
      await once(s, 'connect');
      sockets.push(s);
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString('latin1')));
      answers.push(onClose(s).then(() => text));
      s.write(`GET /live/good.flv HTTP/1.1\r\nHost: x\r\n${i % 2 ? 'Transfer-Encoding: chunked' : 'Content-Length: 1000000000'}\r\n\r\n`);
      s.write(body);
    }
    const got = await Promise.race([Promise.all(answers), sleep(10_000).then(() => [] as string[])]);
    const after = await child.mem();
    console.log(`request bodies: ${got.length} of 400 closed, ${got.filter((t) => t.startsWith('HTTP/1.1 413')).length} of them with their 413 read before the reset; array buffers ${MB(before.arrayBuffers)} -> ${MB(after.arrayBuffers)}`);
    assert.equal(got.length, 400, 'every connection closed');
    // Closing with the body unread resets the connection, which may overtake the 413 itself.
    assert.ok(got.every((t) => t === '' || t.startsWith('HTTP/1.1 413 ')), got.find((t) => !t.startsWith('HTTP/1.1 413'))?.slice(0, 80));
    assert.ok(got.some((t) => t.startsWith('HTTP/1.1 413 ')));
    assert.equal(after.http['request body'], 400);
    assert.ok(after.arrayBuffers - before.arrayBuffers < 8 << 20, `array buffers grew ${MB(after.arrayBuffers - before.arrayBuffers)}`);
  } finally {
    for (const s of sockets) s.destroy();
    await stop(pub);
    await child.stop();
  }
});
