import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { decodeMessage, encodeHello } from '../../src/media/tributary/index.js';
import { latencyFlag } from '../../src/cli/options.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import type { Stream } from '../../src/server/Stream.js';
import { TransportSubscriber } from '../../src/server/transport/TransportSubscriber.js';
import { Pump } from '../server/http/fixture.js';
import { waitFor } from '../server/http/tools.js';

const cli = ['--import', 'tsx', 'src/cli/main.ts'];
let server: Server;
let port: number;
let stream: Stream;
let pump: Pump;
const procs: ChildProcess[] = [];

before(async () => {
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  port = (await server.start()).transportPort;
  stream = server.registry.app('live').stream('k');
  pump = new Pump(stream).start();
});

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  pump.stop();
  await server.close();
});

/** Runs `tributary play` until the server has its viewer; returns the deadline the server gives that viewer. */
async function playDeadline(query: string, flags: string[] = []): Promise<number> {
  const known = new Set(stream.subscribers.keys());
  const p = spawn(process.execPath, [...cli, 'play', `tributary://127.0.0.1:${port}/live/k${query}`, '-o', '/dev/null', ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(p);
  try {
    let err = '';
    p.stderr!.on('data', (d) => (err += String(d)));
    const sub = await waitFor(`the player to subscribe (${query} ${flags.join(' ')})`, () => [...stream.subscribers.values()].find((s) => !known.has(s.id) && s instanceof TransportSubscriber), 40_000).catch((e) => {
      throw new Error(`${(e as Error).message} ${err}`);
    });
    return (sub as TransportSubscriber).latencyMs;
  } finally {
    p.kill('SIGTERM');
  }
}

test('tributary play: the URL\'s latency= is honoured; --latency wins only when given; neither = the server default', { timeout: 200_000 }, async () => {
  assert.equal(await playDeadline('?latency=150'), 150);
  assert.equal(await playDeadline('?latency=150', ['--latency', '900']), 900);
  assert.equal(await playDeadline('', ['--latency', '2500']), 2500);
  assert.equal(await playDeadline(''), 600);
});

test('tributary play and send refuse a --latency outside 50..60000 or not a whole number', { timeout: 60_000 }, async () => {
  for (const bad of ['10', '60001', '1.5', 'abc', '']) {
    const p = spawn(process.execPath, [...cli, 'play', `tributary://127.0.0.1:${port}/live/k`, '--latency', bad], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | null>((r) => p.on('close', r));
    assert.equal(code, 2, `--latency ${JSON.stringify(bad)}: ${err}`);
    assert.match(err, /--latency must be/);
  }
  assert.equal(latencyFlag('50'), 50);
  assert.equal(latencyFlag('60000'), 60_000);
  assert.equal(latencyFlag('1e3'), null);
});

test('tributary send takes its frame deadline from the URL unless --latency is given', { timeout: 60_000 }, async () => {
  const deadline = async (query: string, flags: string[] = []): Promise<string> => {
    // An RTMP input that never gets a publisher: send connects, says its deadline, and waits.
    const p = spawn(process.execPath, [...cli, 'send', 'rtmp://127.0.0.1:0/live/in', `tributary://127.0.0.1:${port}/live/sent${query}`, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(p);
    let err = '';
    p.stderr!.on('data', (d) => (err += String(d)));
    try {
      return await waitFor(`send to print its deadline (${query} ${flags.join(' ')})`, () => /frame deadline (\d+ ms from capture \([^)]+\))/.exec(err)?.[1], 20_000);
    } finally {
      p.kill('SIGTERM');
    }
  };
  assert.equal(await deadline('?latency=250'), "250 ms from capture (the URL's latency=)");
  assert.equal(await deadline('?latency=250', ['--latency', '900']), '900 ms from capture (--latency)');
  assert.equal(await deadline(''), '600 ms from capture (default)');
});

test('a hello carries a player\'s latency only when asked; without it the bytes are the old hello\'s', () => {
  assert.deepEqual(decodeMessage(encodeHello('play', 'live', 'k', 150)), { type: 'hello', role: 'play', app: 'live', key: 'k', latencyMs: 150 });
  assert.equal(Buffer.from(encodeHello('publish', 'live', 'k')).toString('hex'), '1801046c697665016b');
  const bad = Buffer.concat([Buffer.from(encodeHello('play', 'live', 'k')), Buffer.from([0, 10])]); // 10 ms
  assert.throws(() => decodeMessage(bad), /hello latency 10 ms outside 50\.\.60000/);
  // A byte after the latency starts a quality (str8): an empty one is refused, as is one cut short.
  assert.throws(() => decodeMessage(Buffer.concat([Buffer.from(encodeHello('play', 'live', 'k', 150)), Buffer.from([0])])), /hello quality/);
  assert.throws(() => decodeMessage(Buffer.concat([Buffer.from(encodeHello('play', 'live', 'k', 150)), Buffer.from([3, 0x61])])), /truncated/);
  assert.throws(() => decodeMessage(Buffer.concat([Buffer.from(encodeHello('play', 'live', 'k', 150, 'lo')), Buffer.from([0])])), /trailing/);
  assert.throws(() => encodeHello('play', 'live', 'k', 70_000), RangeError);
});
