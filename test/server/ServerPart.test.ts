/** Server.use: the extension point processing, recording and the cluster plug into (src/node/). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import type { ServerPart } from '../../src/server/ServerPart.js';
import { Pump } from './http/fixture.js';
import { httpGet } from './http/tools.js';

const config = () => parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 } });

test('parts start once the ports are bound, stop in reverse while streams are live, close after the streams ended', async () => {
  const s = new Server(config(), { logger: createLogger('silent') });
  const pump = new Pump(s.registry.app('live').stream('k'));
  const seen: string[] = [];
  const part = (name: string): ServerPart => ({
    name,
    start: async (a) => {
      assert.ok(a.httpPort > 0 && a.rtmpPort > 0, 'ports bound before a part starts');
      seen.push(`start ${name}`);
    },
    stop: () => void seen.push(`stop ${name} live=${s.registry.find('live', 'k')?.isLive ?? false}`),
    close: () => void seen.push(`close ${name} live=${s.registry.find('live', 'k')?.isLive ?? false}`),
  });
  s.use(part('a'));
  s.use(part('b'));
  await s.start();
  pump.start();
  assert.throws(() => s.use(part('late')), /after start/);
  await s.close();
  pump.stop();
  assert.deepEqual(seen, ['start a', 'start b', 'stop b live=true', 'stop a live=true', 'close b live=false', 'close a live=false']);
});

test("a part's serveHls answers before the server's HLS service; what it declines goes on to it", async () => {
  const s = new Server(config(), { logger: createLogger('silent') });
  s.use({
    name: 'master',
    serveHls: (_req, res, app, key, file) => {
      if (file !== 'master.m3u8') return false;
      res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl' });
      res.end(`#EXTM3U\n# ${app}/${key}\n`);
      return true;
    },
  });
  const { httpPort } = await s.start();
  const pump = new Pump(s.registry.app('live').stream('k')).start();
  try {
    const master = await httpGet(`http://127.0.0.1:${httpPort}/live/k/master.m3u8`);
    assert.equal(master.status, 200);
    assert.equal(master.body, '#EXTM3U\n# live/k\n');
    const other = await httpGet(`http://127.0.0.1:${httpPort}/live/k/nothing.txt`);
    assert.equal(other.status, 404);
    assert.match(other.body, /not an HLS file/);
  } finally {
    pump.stop();
    await s.close();
  }
});

test('a part whose start throws fails start(); close still stops and closes every part', async () => {
  const s = new Server(config(), { logger: createLogger('silent') });
  const seen: string[] = [];
  s.use({ name: 'ok', stop: () => void seen.push('stop ok'), close: () => void seen.push('close ok') });
  s.use({ name: 'bad', start: () => Promise.reject(new Error('etcd unreachable')), stop: () => void seen.push('stop bad') });
  await assert.rejects(s.start(), /etcd unreachable/);
  await s.close();
  assert.deepEqual(seen, ['stop bad', 'stop ok', 'close ok']);
});
