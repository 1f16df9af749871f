import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { loadOrCreateServerKey, ServerKeyError } from '../../src/net/serverKey.js';
import { KnownHosts } from '../../src/net/knownHosts.js';
import { fingerprint } from '../../src/transport/crypto/keys.js';

test('the server key is made on first start (mode 0600) and the same key comes back after', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-key-'));
  const file = join(dir, 'sub', 'server-key.pem');
  const a = loadOrCreateServerKey(file);
  assert.equal(a.created, true);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(a.fingerprint, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(a.fingerprint, fingerprint(a.keyPair.publicKey));
  const b = loadOrCreateServerKey(file);
  assert.equal(b.created, false);
  assert.equal(b.fingerprint, a.fingerprint);
  assert.match(readFileSync(file, 'utf8'), /BEGIN PRIVATE KEY/);
});

test('a key file that is not an X25519 key is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-key-'));
  const file = join(dir, 'k.pem');
  writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  assert.throws(() => loadOrCreateServerKey(file), (e: Error) => e instanceof ServerKeyError && /not an X25519 key/.test(e.message));
  writeFileSync(file, 'garbage');
  assert.throws(() => loadOrCreateServerKey(file), ServerKeyError);
});

test('known hosts: a new host is recorded, the same key is known, another key is a mismatch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-kh-'));
  const kh = new KnownHosts(join(dir, 'known_hosts'));
  const fp1 = 'A'.repeat(43);
  const fp2 = 'B'.repeat(43);
  assert.deepEqual(kh.check('example.org:9000', fp1), { kind: 'new' });
  assert.deepEqual(kh.check('example.org:9000', fp1), { kind: 'known' });
  assert.deepEqual(kh.check('example.org:9000', fp2), { kind: 'mismatch', expected: fp1 });
  assert.deepEqual(kh.check('example.org:9001', fp2), { kind: 'new' });
  assert.equal(readFileSync(kh.file, 'utf8'), `example.org:9000 ${fp1}\nexample.org:9001 ${fp2}\n`);
});
