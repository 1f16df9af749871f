import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { buildHandshake, decodeStreamId, encodeStreamId, parseHandshake, parseSrtHs, buildSrtHs, MAX_STREAM_ID } from '../../src/srt/handshake.js';
import { buildNakCif, parseNakCif, buildAckCif, parseAckCif, toRanges } from '../../src/srt/control.js';
import { parsePacket, writeDataHeader, Boundary, SrtParseError, HEADER_SIZE } from '../../src/srt/packet.js';
import { buildKm, makeKm, parseKm, unwrapKeys } from '../../src/srt/crypto/KeyMaterial.js';
import { PayloadCipher } from '../../src/srt/crypto/PayloadCipher.js';
import { parseStreamId } from '../../src/srt/streamId.js';
import { seqAdd, seqDiff } from '../../src/srt/seq.js';

test('sequence arithmetic crosses the 31-bit wrap', () => {
  assert.equal(seqAdd(0x7fffffff, 1), 0);
  assert.equal(seqDiff(0x7ffffffe, 1), 3);
  assert.equal(seqDiff(1, 0x7ffffffe), -3);
});

test('data header bits: boundary, key, retransmit flag and message number round-trip', () => {
  const d = new Uint8Array(HEADER_SIZE + 3);
  writeDataHeader(d, { seq: 0x7ffffff0, boundary: Boundary.First, inOrder: true, key: 2, retransmitted: true, msgNo: 0x3ffffff, timestamp: 0xfffffff0, dstSocket: 0xdeadbeef });
  const p = parsePacket(d);
  assert.equal(p.control, false);
  if (p.control) return;
  assert.deepEqual([p.seq, p.boundary, p.inOrder, p.key, p.retransmitted, p.msgNo, p.timestamp, p.dstSocket], [0x7ffffff0, Boundary.First, true, 2, true, 0x3ffffff, 0xfffffff0, 0xdeadbeef]);
  assert.throws(() => parsePacket(new Uint8Array(15)), SrtParseError);
});

test('the stream id travels with each 4-byte word reversed, as libsrt sends it', () => {
  // "#!::r=a/b" as libsrt puts it on the wire (captured layout: word-wise byte swap, zero padded).
  const wire = encodeStreamId('#!::r=a/b');
  assert.deepEqual([...wire.subarray(0, 4)], [0x3a, 0x3a, 0x21, 0x23]);
  assert.equal(decodeStreamId(wire), '#!::r=a/b');
  assert.throws(() => decodeStreamId(new Uint8Array(MAX_STREAM_ID + 4)), SrtParseError);
});

test('handshake with extensions round-trips; a lying extension length is refused', () => {
  const hs = { version: 5, encryption: 2, extension: 5, isn: 77, mtu: 1500, flowWindow: 8192, type: 0xffffffff, socketId: 9, cookie: 0xabcdef01, peerIp: new Uint8Array(16), extensions: [{ type: 1, data: buildSrtHs({ version: 0x10501, flags: 0x3f, recvDelayMs: 600, sendDelayMs: 120 }) }] };
  const b = buildHandshake(hs);
  const back = parseHandshake(b);
  assert.equal(back.cookie, 0xabcdef01);
  assert.deepEqual(parseSrtHs(back.extensions[0]!.data), { version: 0x10501, flags: 0x3f, recvDelayMs: 600, sendDelayMs: 120 });
  const lie = b.slice();
  lie[48 + 3] = 200; // extension claims 800 bytes
  assert.throws(() => parseHandshake(lie), SrtParseError);
  assert.throws(() => parseHandshake(b.subarray(0, 47)), SrtParseError);
});

test('NAK loss lists: singles and ranges; a lying range is capped', () => {
  const ranges = toRanges([5, 6, 7, 9, 0x7fffffff, 0]);
  assert.deepEqual(ranges, [[5, 7], [9, 9], [0x7fffffff, 0]]);
  assert.deepEqual(parseNakCif(buildNakCif(ranges)), ranges);
  const huge = buildNakCif([[0, 0x3fffffff]]);
  const capped = parseNakCif(huge, 100);
  assert.deepEqual(capped, [[0, 99]]);
  assert.throws(() => parseNakCif(huge.subarray(0, 4)), SrtParseError);
  const ack = parseAckCif(buildAckCif({ lastAckSeq: 42, rttUs: 300_000, rttVarUs: 1000, availableBuffer: 8000, packetsPerSecond: 100, capacityPps: 1000, bytesPerSecond: 131600 }));
  assert.equal(ack.lastAckSeq, 42);
  assert.equal(ack.rttUs, 300_000);
});

test('AES key wrap is RFC 3394 (section 4.1 vector), and key material unwraps only with its passphrase', () => {
  const kek = Buffer.from('000102030405060708090A0B0C0D0E0F', 'hex');
  const c = createCipheriv('id-aes128-wrap', kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
  const wrapped = Buffer.concat([c.update(Buffer.from('00112233445566778899AABBCCDDEEFF', 'hex')), c.final()]);
  assert.equal(wrapped.toString('hex').toUpperCase(), '1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5');
  const { km, key } = makeKm('a passphrase of ours');
  const parsed = parseKm(buildKm(km));
  assert.deepEqual(unwrapKeys(parsed, 'a passphrase of ours')?.even, key);
  assert.equal(unwrapKeys(parsed, 'another passphrase'), undefined);
  assert.throws(() => parseKm(buildKm(km).subarray(0, 30)), SrtParseError);
});

test('AES-CTR payloads: the counter comes from the salt and the packet sequence number', () => {
  const { km, key } = makeKm('a passphrase of ours');
  const c = new PayloadCipher(km.salt, { even: key });
  const plain = new Uint8Array(1316).fill(0x47);
  const a = c.apply(1, 100, plain)!;
  const b = c.apply(1, 101, plain)!;
  assert.notDeepEqual(a, b);
  assert.deepEqual(c.apply(1, 100, a), plain);
  // Independent check of the IV layout: salt[0..13] XOR (pki at bytes 10..13), counter 0.
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(100, 10);
  for (let i = 0; i < 14; i++) iv[i] = iv[i]! ^ km.salt[i]!;
  const ref = createCipheriv('aes-128-ctr', key, iv);
  assert.deepEqual(Buffer.from(a), Buffer.concat([ref.update(plain), ref.final()]));
  assert.equal(c.apply(2, 100, plain), undefined); // no odd key
});

test('stream ids: access-control form, plain APP/KEY, and refusals', () => {
  assert.deepEqual(parseStreamId('#!::r=live/cam1,m=request,t=123.abc'), { app: 'live', key: 'cam1', mode: 'request', token: '123.abc' });
  assert.deepEqual(parseStreamId('#!::m=publish,r=live/cam1'), { app: 'live', key: 'cam1', mode: 'publish' });
  assert.deepEqual(parseStreamId('live/cam1'), { app: 'live', key: 'cam1', mode: 'publish' });
  assert.deepEqual(parseStreamId('%23!::r=live/x,m=request'), { app: 'live', key: 'x', mode: 'request' });
  assert.deepEqual(parseStreamId('#!::r=live/x,t=stream'), { app: 'live', key: 'x', mode: 'publish' });
  for (const bad of ['', '#!::m=publish', '#!::r=live/x,m=bidirectional', 'live', '#!::r=../x/y', '#!::junk', '%23%zz']) assert.ok('error' in parseStreamId(bad), bad);
});
