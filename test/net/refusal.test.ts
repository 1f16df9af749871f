import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectRefusedError, TransportClient, TransportServer } from '../../src/net/index.js';
import { fingerprint, keyPairFromSeed } from '../../src/transport/crypto/keys.js';
import { randomBytes } from 'node:crypto';

const quiet = { warn: () => {}, debug: () => {} };

async function server(encryption: 'none' | 'headers' | 'all') {
  const staticKey = keyPairFromSeed(randomBytes(32));
  const s = await TransportServer.listen({ port: 0, host: '127.0.0.1', encryption, staticKey, resolvePsk: () => 'k', logger: quiet });
  return { s, fp: fingerprint(staticKey.publicKey) };
}

test('real sockets: a client asking less than the minimum is refused at once with the server\'s reason, and it is counted', async () => {
  const { s } = await server('headers');
  try {
    const t0 = performance.now();
    await assert.rejects(
      TransportClient.connect({ host: '127.0.0.1', port: s.port, psk: 'k', identity: 'live/x', encryption: 'none', tcp: 'never', connectTimeoutMs: 5000, logger: quiet }),
      (e: Error) => e instanceof ConnectRefusedError && e.message === "refused by the server: encryption 'none' is below this server's minimum 'headers'",
    );
    assert.ok(performance.now() - t0 < 1000, `took ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(s.dropped['weak-encryption'], 1);
    assert.equal(s.sessionCount, 0);
  } finally {
    await s.close();
  }
});

test('real sockets: a pinned fingerprint connects to its server and refuses another one, saying so', async () => {
  const a = await server('all');
  const b = await server('all');
  const pin = (fp: string) => (key: Uint8Array) => (fingerprint(key) === fp ? undefined : `server key fp=${fingerprint(key)} is not the pinned fp=${fp}`);
  try {
    const ok = await TransportClient.connect({ host: '127.0.0.1', port: a.s.port, psk: 'k', identity: 'live/x', tcp: 'never', checkServerKey: pin(a.fp), logger: quiet });
    await ok.close();
    await assert.rejects(
      TransportClient.connect({ host: '127.0.0.1', port: b.s.port, psk: 'k', identity: 'live/x', tcp: 'never', checkServerKey: pin(a.fp), connectTimeoutMs: 5000, logger: quiet }),
      (e: Error) => e instanceof ConnectRefusedError && e.message.includes(`is not the pinned fp=${a.fp}`),
    );
  } finally {
    await a.s.close();
    await b.s.close();
  }
});
