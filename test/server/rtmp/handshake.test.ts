import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { FMS_KEY, FP_KEY, HANDSHAKE_SIZE, ServerHandshake, blockDigest, digestOffset, type DigestSchema } from '../../../src/server/rtmp/handshake.js';

/** A client C1 as Flash / librtmp / ffmpeg build it: version field non-zero, digest at the schema's offset. */
function clientC1(schema: DigestSchema): Uint8Array {
  const c1 = new Uint8Array(randomBytes(HANDSHAKE_SIZE));
  c1.set([0, 0, 0, 0, 0x80, 0x00, 0x07, 0x02]);
  const off = digestOffset(c1, schema);
  c1.set(blockDigest(c1, off, FP_KEY.subarray(0, 30)), off);
  return c1;
}

function collect(hs: ServerHandshake, data: Uint8Array, step = data.length): { reply?: Uint8Array; rest?: Uint8Array; error?: string } {
  const out: { reply?: Uint8Array; rest?: Uint8Array; error?: string } = {};
  for (let i = 0; i < data.length; i += step) {
    for (const r of hs.push(data.subarray(i, i + step))) {
      if (r.kind === 'reply') out.reply = r.data;
      if (r.kind === 'done') out.rest = new Uint8Array([...(out.rest ?? []), ...r.rest]);
      if (r.kind === 'error') out.error = r.reason;
    }
  }
  return out;
}

for (const schema of [0, 1] as const) {
  test(`digest handshake, schema ${schema}: S1 carries a server digest and S2 is signed with the client's`, () => {
    const hs = new ServerHandshake(() => 1234);
    const c1 = clientC1(schema);
    const { reply } = collect(hs, new Uint8Array([3, ...c1]));
    assert.ok(reply);
    assert.equal(reply.length, 1 + 2 * HANDSHAKE_SIZE);
    assert.equal(reply[0], 3);
    assert.equal(hs.complex, schema);
    const s1 = reply.subarray(1, 1 + HANDSHAKE_SIZE);
    const s2 = reply.subarray(1 + HANDSHAKE_SIZE);
    assert.ok(s1[4]! >= 3, 'server version byte tells ffmpeg to check digests');
    const off = digestOffset(s1, schema);
    assert.deepEqual(Buffer.from(s1.subarray(off, off + 32)), blockDigest(s1, off, FMS_KEY.subarray(0, 36)));
    // What ffmpeg checks on S2: HMAC(HMAC(FMS key, C1 digest), S2[0..1504]) == S2[1504..].
    const cOff = digestOffset(c1, schema);
    const key = createHmac('sha256', FMS_KEY).update(c1.subarray(cOff, cOff + 32)).digest();
    const sig = createHmac('sha256', key).update(s2.subarray(0, HANDSHAKE_SIZE - 32)).digest();
    assert.deepEqual(Buffer.from(s2.subarray(HANDSHAKE_SIZE - 32)), sig);
  });
}

test('simple handshake: S2 echoes C1; bytes after C2 are handed on', () => {
  const hs = new ServerHandshake();
  const c1 = new Uint8Array(randomBytes(HANDSHAKE_SIZE));
  c1.fill(0, 4, 8);
  const c2 = new Uint8Array(HANDSHAKE_SIZE);
  const tail = new Uint8Array([0x02, 0, 0, 0, 0, 0, 4, 1]);
  const all = new Uint8Array([3, ...c1, ...c2, ...tail]);
  const r = collect(hs, all, 7); // odd splits
  assert.equal(hs.complex, 'simple');
  assert.deepEqual(r.reply!.subarray(1 + HANDSHAKE_SIZE), c1);
  assert.ok(hs.isDone);
  assert.deepEqual([...r.rest!], [...tail]);
});

test('a C1 with a version but a wrong digest falls back to the simple handshake', () => {
  const hs = new ServerHandshake();
  const c1 = clientC1(1);
  c1[digestOffset(c1, 1)]! ^= 0xff;
  const { reply } = collect(hs, new Uint8Array([3, ...c1]));
  assert.equal(hs.complex, 'simple');
  assert.deepEqual(reply!.subarray(1 + HANDSHAKE_SIZE), c1);
});

test('a version other than 3 (RTMPE, HTTP, garbage) is refused at the first byte', () => {
  for (const first of [6, 0x47, 0]) {
    const hs = new ServerHandshake();
    const r = collect(hs, new Uint8Array([first, 1, 2, 3]));
    assert.match(r.error!, /bad handshake version/);
    assert.equal(r.reply, undefined);
  }
});
