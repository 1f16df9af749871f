import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { request } from 'node:http';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import { Pump } from './http/fixture.js';

const config = () => parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 } });

test('start and close are idempotent, and close frees the port', async () => {
  const s = new Server(config(), { logger: createLogger('silent') });
  const [a, b] = await Promise.all([s.start(), s.start()]);
  assert.deepEqual(a, b);
  assert.ok(a.httpPort > 0);
  await Promise.all([s.close(), s.close()]);
  await s.close();
  const refused = await new Promise<boolean>((resolve) => {
    const c = connect(a.httpPort, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(false)));
    c.once('error', () => resolve(true));
  });
  assert.equal(refused, true);
});

test('close ends every viewer and publisher', async () => {
  const s = new Server(config(), { logger: createLogger('silent') });
  const { httpPort } = await s.start();
  const pump = new Pump(s.registry.app('live').stream('k')).start();
  let publisherKicked = false;
  const origClose = pump.publisher.close;
  pump.publisher.close = () => {
    publisherKicked = true;
    origClose();
  };
  const { ended } = await new Promise<{ ended: Promise<void> }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: httpPort, path: '/live/k.flv' }, (res) => {
      res.resume();
      resolve({ ended: new Promise((r) => res.once('close', () => r())) });
    });
    req.on('error', reject);
    req.end();
  });
  await s.close();
  await ended;
  assert.equal(publisherKicked, true);
  assert.equal(s.registry.find('live', 'k'), undefined);
});

test('a port in use fails start with the error', async () => {
  const a = new Server(config(), { logger: createLogger('silent') });
  const { httpPort } = await a.start();
  const b = new Server(parseConfig({ host: '127.0.0.1', httpPort, rtmpPort: 0, transportPort: 0, srt: { port: 0 } }), { logger: createLogger('silent') });
  await assert.rejects(b.start(), /EADDRINUSE/);
  await b.close();
  await a.close();
});
