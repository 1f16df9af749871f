import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { parseConfig, type ConfigInput } from '../../../src/server/config.js';
import { checkApiAccess, cookieValue, isLoopback } from '../../../src/server/http/apiAccess.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';
import { Pump } from './fixture.js';

/** This machine's own non-loopback IPv4 address: a client from it is not on loopback. */
function lanAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this test needs a non-loopback IPv4 interface (to be a client that is not on loopback)');
}

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** GET with headers, from a chosen local address; FLV bodies (200, endless) are not read. */
function get(host: string, port: number, path: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers, localAddress }, (res) => {
      if ((res.headers['content-type'] ?? '').includes('video/x-flv')) {
        req.destroy();
        return resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
      }
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function start(config: ConfigInput): Promise<{ server: Server; port: number; pumps: Pump[] }> {
  // 0.0.0.0, so the same server can be reached over loopback and over the LAN address.
  const server = new Server(parseConfig({ host: '0.0.0.0', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, ...config }), { logger: createLogger('silent') });
  const { httpPort } = await server.start();
  const pumps = [new Pump(server.registry.app('live').stream('k')).start(), new Pump(server.registry.app('hidden').stream('secretkey')).start()];
  return { server, port: httpPort, pumps };
}

const TOKEN = 'api-token-0123456789abcdef';

describe('with no api.token', () => {
  let s: Awaited<ReturnType<typeof start>>;
  const lan = lanAddress();
  before(async () => (s = await start({ apps: { hidden: { listed: false } } })));
  after(async () => {
    for (const p of s.pumps) p.stop();
    await s.server.close();
  });

  test('loopback clients get the API, metrics and the stream list page', async () => {
    for (const path of ['/api/streams', '/metrics', '/', '/api/streams/live/k']) {
      assert.equal((await get('127.0.0.1', s.port, path)).status, 200, path);
    }
  });

  test('a client on another address is refused them, but still plays and sees /healthz', async () => {
    for (const path of ['/api/streams', '/api/streams/live/k', '/metrics', '/', '/index.html', '/web/index.html']) {
      const r = await get(lan, s.port, path, {}, lan);
      assert.equal(r.status, 403, path);
      assert.match(r.body, /loopback only until api\.token is set/);
      assert.doesNotMatch(r.body, /secretkey|live\/k/);
    }
    assert.equal((await get(lan, s.port, '/healthz', {}, lan)).status, 200);
    assert.equal((await get(lan, s.port, '/live/k.flv', {}, lan)).status, 200);
    assert.equal((await get(lan, s.port, '/web/list.js', {}, lan)).status, 200, 'the page scripts hold no keys');
  });

  test('an unlisted app never appears in /api/streams, but its stream is there by key and plays', async () => {
    const list = JSON.parse((await get('127.0.0.1', s.port, '/api/streams')).body) as { streams: { app: string; key: string }[] };
    assert.deepEqual(list.streams.map((x) => `${x.app}/${x.key}`), ['live/k']);
    const one = await get('127.0.0.1', s.port, '/api/streams/hidden/secretkey');
    assert.equal(one.status, 200);
    assert.equal(JSON.parse(one.body).live, true);
    assert.equal((await get('127.0.0.1', s.port, '/hidden/secretkey.flv')).status, 200);
  });
});

describe('with api.token set', () => {
  let s: Awaited<ReturnType<typeof start>>;
  const lan = lanAddress();
  before(async () => (s = await start({ api: { token: TOKEN } })));
  after(async () => {
    for (const p of s.pumps) p.stop();
    await s.server.close();
  });

  test('the token is needed even on loopback: none is 401 with a Bearer challenge, a wrong one 403', async () => {
    for (const path of ['/api/streams', '/metrics', '/']) {
      const none = await get('127.0.0.1', s.port, path);
      assert.equal(none.status, 401, path);
      assert.match(String(none.headers['www-authenticate']), /^Bearer/);
      assert.equal((await get('127.0.0.1', s.port, path, { Authorization: `Bearer ${TOKEN}x` })).status, 403, path);
      assert.equal((await get('127.0.0.1', s.port, path, { Authorization: `Basic ${TOKEN}` })).status, 401, path);
    }
  });

  test('a Bearer header opens the API and metrics from any address', async () => {
    const r = await get(lan, s.port, '/api/streams', { Authorization: `Bearer ${TOKEN}` }, lan);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).streams.length, 2);
    const m = await get(lan, s.port, '/metrics', { Authorization: `bearer ${TOKEN}` }, lan);
    assert.equal(m.status, 200);
    assert.match(m.body, /tributary_streams 2/);
  });

  test('a browser opens /?token= once: a 303 to / sets an HttpOnly SameSite cookie that opens the page and the API', async () => {
    const bad = await get(lan, s.port, '/?token=wrong-token-0123456789', {}, lan);
    assert.equal(bad.status, 403);
    assert.equal(bad.headers['set-cookie'], undefined);
    const r = await get(lan, s.port, `/?token=${TOKEN}`, {}, lan);
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/');
    const setCookie = String(r.headers['set-cookie']);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    assert.equal((await get(lan, s.port, '/', { Cookie: `other=1; ${cookie}` }, lan)).status, 200);
    assert.equal((await get(lan, s.port, '/api/streams', { Cookie: cookie }, lan)).status, 200);
    assert.equal((await get(lan, s.port, '/api/streams', { Cookie: 'tributary_api=nope' }, lan)).status, 403);
  });
});

test('loopback means 127.0.0.0/8 and ::1, mapped or not; nothing else', () => {
  for (const a of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
  for (const a of [undefined, '192.0.2.2', '::ffff:192.0.2.2', '10.0.0.1', 'fd00::2', '127.0.0.1.evil', '::']) assert.equal(isLoopback(a), false, String(a));
  assert.equal(checkApiAccess(undefined, { remoteAddress: '::ffff:127.0.0.1', authorization: undefined, cookie: undefined }).ok, true);
  assert.equal(cookieValue('a=1; tributary_api=x; b=2', 'tributary_api'), 'x');
  assert.equal(cookieValue('x'.repeat(9000), 'tributary_api'), undefined);
});
