import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, makeToken, splitQuery, verifyToken } from '../../src/server/auth.js';

const secret = 'a-secret-of-enough-length';
const now = 1_700_000_000_000;
const claims = { action: 'publish' as const, app: 'live', key: 'k', expiresAt: now + 60_000 };

test('a token verifies for its own action, stream and time', () => {
  const t = makeToken(secret, claims);
  assert.deepEqual(verifyToken(secret, t, claims, now), { ok: true });
});

test('a token is refused for another key, action or secret, and once expired', () => {
  const t = makeToken(secret, claims);
  assert.match(String((verifyToken(secret, t, { ...claims, key: 'other' }, now) as { reason: string }).reason), /invalid for publish live\/other/);
  assert.equal(verifyToken(secret, t, { ...claims, action: 'play' }, now).ok, false);
  assert.equal(verifyToken('another-secret-0123456', t, claims, now).ok, false);
  assert.deepEqual(verifyToken(secret, t, claims, now + 60_000), { ok: false, reason: 'token expired' });
});

test('missing, malformed and tampered tokens get a reason, never a throw', () => {
  assert.deepEqual(verifyToken(secret, undefined, claims, now), { ok: false, reason: 'token required' });
  const t = makeToken(secret, claims);
  const [exp, sig] = t.split('.');
  // Moving the expiry forward breaks the MAC.
  assert.equal(verifyToken(secret, `${Number(exp) + 3600}.${sig}`, claims, now).ok, false);
  let count = 0;
  for (let i = 0; i < 20000; i++) {
    const chars = [...t];
    const n = 1 + (i % 4);
    for (let j = 0; j < n; j++) chars[(i * 7 + j * 13) % chars.length] = String.fromCharCode(32 + ((i * 31 + j) % 95));
    const mutated = i % 10 === 0 ? chars.join('').slice(0, i % chars.length) : i % 11 === 0 ? chars.join('').repeat(10) : chars.join('');
    const r = verifyToken(secret, mutated, claims, now);
    if (mutated !== t) assert.equal(r.ok, false, mutated);
    count++;
  }
  console.log(`auth: ${count} mutated tokens refused`);
});

test('the policy only asks for a token where it is required', () => {
  const policy = { secret, publish: true, play: false };
  assert.equal(authorize(policy, { action: 'play', app: 'live', key: 'k' }).ok, true);
  assert.deepEqual(authorize(policy, { action: 'publish', app: 'live', key: 'k' }), { ok: false, reason: 'token required' });
  const token = makeToken(secret, { ...claims, expiresAt: Date.now() + 10_000 });
  assert.equal(authorize(policy, { action: 'publish', app: 'live', key: 'k', token }).ok, true);
});

test('a stream name carries its token after a question mark', () => {
  const { name, params } = splitQuery('k?token=abc&x=1');
  assert.equal(name, 'k');
  assert.equal(params.get('token'), 'abc');
  assert.equal(splitQuery('plain').name, 'plain');
});
