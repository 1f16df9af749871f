import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../../src/server/Server.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { connectMedia, MediaRefusedError } from '../../src/client/connectMedia.js';
import { Sender } from '../../src/client/send/Sender.js';

async function start(dir: string) {
  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, transport: { keyFile: join(dir, 'server-key.pem') } }), { logger: createLogger('silent') });
  const a = await server.start();
  return { server, port: a.transportPort, fp: server.transport.fingerprint! };
}

test('an open stream with ?fp= connects to the server holding that key and refuses a URL pinning another, saying why', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-fp-'));
  const { server, port, fp } = await start(dir);
  try {
    assert.match(fp, /^[A-Za-z0-9_-]{43}$/);
    const ok = await connectMedia(`tributary://127.0.0.1:${port}/live/a?fp=${fp}`, 'play', { connectTimeoutMs: 5000 });
    await ok.client.close();
    const wrong = 'A'.repeat(43);
    const t0 = performance.now();
    await assert.rejects(connectMedia(`tributary://127.0.0.1:${port}/live/a?fp=${wrong}`, 'play', { connectTimeoutMs: 5000 }), (e: Error) => e instanceof MediaRefusedError && e.message.includes(`is not the one the URL pins (fp=${wrong})`));
    assert.ok(performance.now() - t0 < 2000, 'refused at once, not after the connect timeout');
  } finally {
    await server.close();
  }
  // The key file survives a restart: the same fingerprint.
  const again = await start(dir);
  try {
    assert.equal(again.fp, fp);
  } finally {
    await again.server.close();
  }
});

test('without fp: trust on first use records the key and warns; a different recorded key is refused', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-tofu-'));
  const { server, port, fp } = await start(dir);
  const knownHosts = join(dir, 'known_hosts');
  const warnings: string[] = [];
  try {
    const c1 = await connectMedia(`tributary://127.0.0.1:${port}/live/a`, 'play', { knownHosts, warn: (m) => warnings.push(m), connectTimeoutMs: 5000 });
    await c1.client.close();
    assert.equal(readFileSync(knownHosts, 'utf8'), `127.0.0.1:${port} ${fp}\n`);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /first connection/);
    const c2 = await connectMedia(`tributary://127.0.0.1:${port}/live/a`, 'play', { knownHosts, warn: (m) => warnings.push(m), connectTimeoutMs: 5000 });
    await c2.client.close();
    assert.equal(warnings.length, 1, 'a known key is not warned about');
    writeFileSync(knownHosts, `127.0.0.1:${port} ${'B'.repeat(43)}\n`);
    await assert.rejects(connectMedia(`tributary://127.0.0.1:${port}/live/a`, 'play', { knownHosts, connectTimeoutMs: 5000 }), (e: Error) => e instanceof MediaRefusedError && /key for 127\.0\.0\.1:\d+ changed/.test(e.message));
  } finally {
    await server.close();
  }
});

test('a sender asking for no encryption from a server that wants more ends with the server\'s reason instead of retrying', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-min-'));
  const { server, port } = await start(dir);
  const lines: string[] = [];
  const sender = await Sender.start({ input: 'udp://127.0.0.1:0', output: `tributary://127.0.0.1:${port}/live/weak`, encryption: 'none', log: (l) => lines.push(l) });
  try {
    const reason = await Promise.race([sender.ended, new Promise<string>((r) => setTimeout(() => r('still running'), 5000))]);
    assert.equal(reason, "not sent: refused by the server: encryption 'none' is below this server's minimum 'headers'");
    assert.equal(sender.status().state, 'ended');
    // One refusal per INITIAL: a loaded machine may have let the client repeat its hello first.
    assert.ok((server.transport.dropped['weak-encryption'] ?? 0) >= 1);
  } finally {
    await sender.close();
    await server.close();
  }
});
