import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { makeToken } from '../../../src/server/auth.js';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';
import { Pump } from './fixture.js';
import { httpGet } from './tools.js';

const secret = 'test-secret-0123456789';
let server: Server;
let base: string;
let pump: Pump;

before(async () => {
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, auth: { secret, play: true } }), { logger: createLogger('silent') });
  base = `127.0.0.1:${(await server.start()).httpPort}`;
  pump = new Pump(server.registry.app('live').stream('k')).start();
});

after(async () => {
  pump.stop();
  await server.close();
});

const token = (over: Partial<Parameters<typeof makeToken>[1]> = {}) =>
  makeToken(secret, { action: 'play', app: 'live', key: 'k', expiresAt: Date.now() + 60_000, ...over });

/** Status and body of the first response to a viewer request (the FLV body is not awaited). */
function status(path: string): Promise<{ status: number; body: string }> {
  return import('node:http').then(({ request }) => new Promise((resolve, reject) => {
    const req = request(`http://${base}${path}`, (res) => {
      if (res.statusCode === 200) {
        req.destroy();
        return resolve({ status: 200, body: '' });
      }
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  }));
}

test('HTTP-FLV on a protected stream: no token 401, wrong or expired 403 with the reason, valid token plays', async () => {
  assert.deepEqual(await status('/live/k.flv'), { status: 401, body: 'token required\n' });
  assert.deepEqual(await status(`/live/k.flv?token=${token({ key: 'other' })}`), { status: 403, body: 'token invalid for play live/k\n' });
  assert.deepEqual(await status(`/live/k.flv?token=${token({ action: 'publish' })}`), { status: 403, body: 'token invalid for play live/k\n' });
  assert.deepEqual(await status(`/live/k.flv?token=${token({ expiresAt: Date.now() - 1000 })}`), { status: 403, body: 'token expired\n' });
  assert.deepEqual(await status(`/live/k.flv?token=garbage`), { status: 403, body: 'token malformed\n' });
  assert.equal((await status(`/live/k.flv?token=${token()}`)).status, 200);
});

test('WebSocket-FLV on a protected stream is refused before the upgrade unless the token is valid', async () => {
  const refused = (q: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://${base}/live/k.flv${q}`);
      ws.once('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.once('open', () => {
        resolve(101);
        ws.close();
      });
    });
  assert.equal(await refused(''), 401);
  assert.equal(await refused(`?token=${token({ expiresAt: Date.now() - 1 })}`), 403);
  assert.equal(await refused(`?token=${token()}`), 101);
});

test('the API and pages stay open; only media needs a play token', async () => {
  assert.equal((await httpGet(`http://${base}/api/streams`)).status, 200);
  assert.equal((await httpGet(`http://${base}/play/live/k`)).status, 200);
});

test('LL-HLS files need the play token too', async () => {
  assert.equal((await status('/live/k/index.m3u8')).status, 401);
  assert.equal((await status('/live/k/init.mp4')).status, 401);
  assert.equal((await status(`/live/k/index.m3u8?token=${token({ key: 'x' })}`)).status, 403);
  assert.equal((await status(`/live/k/index.m3u8?token=${token()}`)).status, 200);
});
