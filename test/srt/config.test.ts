import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, parseConfig } from '../../src/server/config.js';
import { Server } from '../../src/server/Server.js';
import { createLogger } from '../../src/server/log.js';

test('srt.port defaults to 8890; 0 turns the listener off; the passphrase follows libsrt bounds', async () => {
  assert.equal(parseConfig({}).srt.port, 8890);
  assert.equal(parseConfig({}).srt.latencyMs, 120);
  assert.equal(loadConfig({ 'srt.port': '22030' }).srt.port, 22030);
  assert.equal(loadConfig({}, undefined, { TRIBUTARY_SRT_PORT: '0' }).srt.port, 0);
  assert.throws(() => parseConfig({ srt: { passphrase: 'short' } }), ConfigError);
  assert.throws(() => parseConfig({ srt: { port: 70000 } }), ConfigError);
  const off = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 } }), { logger: createLogger('silent') });
  assert.equal(off.srt, undefined);
  assert.equal((await off.start()).srtPort, 0);
  await off.close();
  const on = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 22031 } }), { logger: createLogger('silent') });
  try {
    assert.equal((await on.start()).srtPort, 22031);
  } finally {
    await on.close();
  }
});
