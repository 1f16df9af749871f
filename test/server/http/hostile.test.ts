import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';
import { FlvReader } from './flvReader.js';
import { fixture, Pump } from './fixture.js';
import { waitFor } from './tools.js';

let server: Server;
let port: number;

before(async () => {
  server = new Server(
    parseConfig({
      host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
      http: { headersTimeoutMs: 500, requestTimeoutMs: 1000, maxConnections: 40, maxHeaderSize: 4096 },
      viewer: { skipBytes: 1 << 20, cutBytes: 2 << 20, stallCutMs: 500 },
    }),
    { logger: createLogger('silent') },
  );
  port = (await server.start()).httpPort;
});

after(() => server.close());

/** An HTTP-FLV viewer that reads everything and counts tags. */
function viewer(path: string): Promise<{ reader: FlvReader; close: () => void; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const reader = new FlvReader();
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      assert.equal(res.statusCode, 200);
      const ended = new Promise<void>((r) => res.once('close', () => r()));
      res.on('data', (d: Buffer) => reader.push(d));
      resolve({ reader, close: () => req.destroy(), ended });
    });
    req.on('error', reject);
    req.end();
  });
}

function rawSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

function closed(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.once('close', () => resolve(got));
  });
}

test('slowloris clients are cut at the header timeout while a viewer keeps playing', async () => {
  const pump = new Pump(server.registry.app('live').stream('slow')).start();
  const good = await viewer('/live/slow.flv');
  try {
    const lorises = await Promise.all(Array.from({ length: 10 }, rawSocket));
    const started = Date.now();
    const ends = lorises.map(closed);
    const drip = setInterval(() => {
      for (const s of lorises) if (!s.destroyed) s.write('X-a: b\r\n');
    }, 100);
    for (const s of lorises) s.write('GET /live/slow.flv HTTP/1.1\r\nHost: x\r\n');
    const before = good.reader.videoFrames;
    const answers = await Promise.all(ends);
    clearInterval(drip);
    const took = Date.now() - started;
    for (const a of answers) assert.match(a, /^HTTP\/1\.1 408/);
    assert.ok(took < 2500, `slowloris held sockets for ${took} ms`);
    assert.ok(good.reader.videoFrames - before >= Math.floor(took / 50), `viewer got ${good.reader.videoFrames - before} frames in ${took} ms`);
  } finally {
    good.close();
    pump.stop();
  }
});

test('a viewer that never reads is skipped, then cut once stalled, with bounded memory; a reading viewer of the same stream gets every frame', async () => {
  const stream = server.registry.app('live').stream('burst');
  const fx = fixture();
  const publisher = { id: 'burst', protocol: 'test', remoteAddress: '-', close() {} };
  stream.publish(publisher);
  for (const c of fx.configs) stream.pushConfig(c);
  const good = await viewer('/live/burst.flv');
  const stalled = await rawSocket();
  stalled.pause(); // never reads: the server's socket queue grows
  stalled.write('GET /live/burst.flv HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor('two viewers', () => (stream.subscribers.size === 2 ? true : undefined));
  const slow = [...stream.subscribers.values()].find((s) => s.remoteAddress.endsWith(`:${stalled.localPort}`))!;
  let pushedVideo = 0;
  let maxQueued = 0;
  let round = 0;
  try {
    // Bursts of the whole fixture (~340 KB each), each sent once the reading viewer caught up.
    const started = Date.now();
    for (; round < 200 && !slow.isClosed; round++) {
      const offset = round * fx.durationMs;
      for (const f of fx.frames) {
        stream.pushFrame({ ...f, dts: f.dts + offset, pts: f.pts + offset });
        if (f.kind === 'video') pushedVideo++;
        maxQueued = Math.max(maxQueued, slow.pendingBytes());
      }
      const want = pushedVideo;
      await waitFor('reading viewer to catch up', () => (good.reader.videoFrames >= want ? true : undefined));
    }
    const took = Date.now() - started;
    console.log(`non-reader cut after ${took} ms, ${round} bursts, ${pushedVideo} video frames; its queue peaked at ${maxQueued} bytes; skipped ${slow.skippedFrames}`);
    assert.equal(slow.isClosed, true, 'the non-reading viewer was cut');
    assert.ok(maxQueued <= (1 << 20) + 200_000, `queue peaked at ${maxQueued}`);
    assert.ok(slow.skippedFrames > 0, 'it skipped frames before being cut');
    assert.equal(stream.subscribers.size, 1);
    assert.equal(good.reader.videoFrames, pushedVideo, 'the reading viewer missed nothing');
    assert.equal([...stream.subscribers.values()][0]!.skippedFrames, 0);
  } finally {
    stalled.destroy();
    good.close();
    stream.unpublish(publisher);
  }
});

test('bad requests, huge headers and WebSocket floods get a refusal and nothing else breaks', async () => {
  const pump = new Pump(server.registry.app('live').stream('bad')).start();
  const good = await viewer('/live/bad.flv');
  try {
    const garbage = await rawSocket();
    const g = closed(garbage);
    garbage.write(Buffer.from([0x16, 0x03, 0x01, 0xff, 0, 0, 0, 1, 2, 3, 13, 10, 13, 10]));
    assert.match(await g, /^HTTP\/1\.1 400/);
    const big = await rawSocket();
    const b = closed(big);
    big.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
    assert.match(await b, /^HTTP\/1\.1 431/);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live/bad.flv`);
    await new Promise((r) => ws.once('open', r));
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    ws.send(Buffer.alloc(100_000));
    assert.equal(await code, 1009, 'message too big');
    const wsMissing = new WebSocket(`ws://127.0.0.1:${port}/live/nothing.flv`);
    const status = await new Promise<number>((r) =>
      wsMissing.once('unexpected-response', (req, res) => {
        r(res.statusCode ?? 0);
        req.destroy();
      }),
    );
    assert.equal(status, 404);
    const frames = good.reader.videoFrames;
    await waitFor('viewer still playing', () => (good.reader.videoFrames > frames + 5 ? true : undefined));
  } finally {
    good.close();
    pump.stop();
  }
});

test('connections beyond the cap are dropped at accept and the cap frees up again', async () => {
  const sockets = await Promise.all(Array.from({ length: 50 }, () => rawSocket().catch(() => undefined)));
  const open = sockets.filter((s): s is Socket => s !== undefined);
  const results = await Promise.all(
    open.map((s) => new Promise<boolean>((resolve) => {
      s.once('close', () => resolve(false));
      s.setTimeout(300, () => resolve(true));
    })),
  );
  const alive = results.filter(Boolean).length;
  assert.ok(alive <= 40, `${alive} sockets stayed open with a cap of 40`);
  assert.ok(alive >= 30, `only ${alive} sockets stayed open`);
  for (const s of open) s.destroy();
  const res = await new Promise<number>((resolve, reject) => {
    const attempt = () => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz' }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', () => setTimeout(attempt, 50));
      req.end();
    };
    attempt();
    setTimeout(() => reject(new Error('server did not accept again')), 5000).unref();
  });
  assert.equal(res, 200);
});

test('mutated HTTP requests (bit flips, truncation, lying lengths, random bytes) never disturb a viewer', async () => {
  const pump = new Pump(server.registry.app('live').stream('fuzz')).start();
  const good = await viewer('/live/fuzz.flv');
  const seeds = [
    'GET /live/fuzz.flv HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /api/streams/live/fuzz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n',
    'POST /api/streams HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
    'GET /live/fuzz.flv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    'GET /live/fuzz/index.m3u8?_HLS_msn=1&_HLS_part=0 HTTP/1.1\r\nHost: x\r\n\r\n',
  ];
  let seed = 99;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const mutate = (): Buffer => {
    const b = Buffer.from(seeds[rand(seeds.length)]!, 'latin1');
    switch (rand(5)) {
      case 0: // bit flips
        for (let i = 1 + rand(8); i > 0; i--) b[rand(b.length)]! ^= 1 << rand(8);
        return b;
      case 1:
        return b.subarray(0, rand(b.length));
      case 2: // lying lengths
        return Buffer.from(b.toString('latin1').replace('Host: x', `Host: x\r\nContent-Length: ${[0, 1, 99999999, -1, 'z'][rand(5)]}`), 'latin1');
      case 3:
        return Buffer.from(Array.from({ length: 1 + rand(300) }, () => rand(256)));
      default: // chunked body garbage
        return Buffer.concat([Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'), Buffer.from(Array.from({ length: rand(100) }, () => rand(256)))]);
    }
  };
  const total = 3000;
  let done = 0;
  const before = good.reader.videoFrames;
  const worker = async () => {
    while (done < total) {
      done++;
      const input = mutate();
      await new Promise<void>((resolve) => {
        const s = connect(port, '127.0.0.1');
        const t = setTimeout(() => s.destroy(), 2000);
        s.on('error', () => undefined);
        s.on('data', () => undefined);
        s.once('close', () => (clearTimeout(t), resolve()));
        s.end(input);
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: 30 }, worker));
    console.log(`http fuzz: ${total} mutated requests; the viewer got ${good.reader.videoFrames - before} frames meanwhile`);
    assert.ok(good.reader.videoFrames > before);
    const frames = good.reader.videoFrames;
    await waitFor('viewer still playing', () => (good.reader.videoFrames > frames + 5 ? true : undefined));
    assert.equal(server.registry.find('live', 'fuzz')?.subscribers.size, 1, 'only the real viewer is left');
  } finally {
    good.close();
    pump.stop();
  }
});
