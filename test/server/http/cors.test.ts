import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';
import { Pump } from './fixture.js';
import { waitFor } from './tools.js';

const ORIGIN = 'https://watch.example';
let server: Server;
let base: string;
let pump: Pump;

before(async () => {
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, http: { corsOrigin: ORIGIN } }), { logger: createLogger('silent') });
  base = `http://127.0.0.1:${(await server.start()).httpPort}`;
  pump = new Pump(server.registry.app('live').stream('k')).start();
});

after(async () => {
  pump.stop();
  await server.close();
});

test('LL-HLS answers carry http.corsOrigin, not *: playlist, init, 404s, preflight and a held request cut short', async () => {
  const pl = await waitFor('a playlist with a segment', async () => {
    const r = await fetch(`${base}/live/k/index.m3u8`);
    const text = await r.text();
    return r.status === 200 && /seg\d+\.m4s/.test(text) ? { r, text } : undefined;
  });
  assert.equal(pl.r.headers.get('access-control-allow-origin'), ORIGIN);
  for (const file of ['init1.mp4', 'seg999999.m4s', 'part999999.0.m4s']) {
    const r = await fetch(`${base}/live/k/${file}`);
    await r.arrayBuffer();
    assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN, `${file} (${r.status})`);
  }
  const pre = await fetch(`${base}/live/k/index.m3u8`, { method: 'OPTIONS' });
  assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
  // A blocking reload for a segment that never comes: the stream stops under it.
  const msn = Math.max(...[...pl.text.matchAll(/seg(\d+)\.m4s/g)].map((m) => Number(m[1])));
  const held = fetch(`${base}/live/k/index.m3u8?_HLS_msn=${msn + 2}`);
  await new Promise((r) => setTimeout(r, 200));
  pump.stop();
  const r = await held;
  await r.text();
  assert.notEqual(r.status, 200);
  assert.equal(r.headers.get('access-control-allow-origin'), ORIGIN, `held answer ${r.status}`);
});
