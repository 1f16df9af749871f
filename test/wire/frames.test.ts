import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Reader, Writer, WireError, decodeFrames, encodeFrame, type Frame, encodeHeader, decodeHeader, PacketType, VERSION,
  encodeClientHello, decodeClientHello, encodeRetry, decodeRetry, encodeServerHello, decodeServerHello,
  DATA_FLAG_FEC, DATA_FLAG_KEYFRAME, DATA_FLAG_REFERENCE, forEachAckRange, type AckFrame,
} from '../../src/wire/index.js';

const b = (n: number, v = 7) => new Uint8Array(n).fill(v);
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');

function roundTrip(f: Frame): Uint8Array {
  const buf = new Uint8Array(1500);
  const w = new Writer(buf);
  encodeFrame(w, f);
  const bytes = buf.slice(0, w.pos);
  const out: Frame[] = [];
  decodeFrames(bytes, 0, bytes.length, out);
  assert.equal(out.length, 1);
  assert.deepEqual(norm(out[0]!), norm(f));
  // every truncation is refused with a WireError, never another exception
  for (let cut = 0; cut < bytes.length; cut++) {
    try {
      const o: Frame[] = [];
      decodeFrames(bytes, 0, cut, o);
      if (cut > 0) assert.fail(`truncated ${f.kind} at ${cut} decoded`);
    } catch (e) {
      assert.ok(e instanceof WireError, String(e));
    }
  }
  return bytes;
}

function norm(f: Frame): unknown {
  return JSON.parse(JSON.stringify(f, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)));
}

const data: Frame = {
  kind: 'data', flags: DATA_FLAG_KEYFRAME | DATA_FLAG_REFERENCE | DATA_FLAG_FEC, streamId: 3, messageId: 0x01020304,
  fragIndex: 0, fragCount: 1, deadlineOffset: 600, timestamp: 123456, fecGroup: 9, fecIndex: 2, payload: b(5),
};

test('every frame type round-trips and refuses every truncation', () => {
  const frames: Frame[] = [
    { kind: 'ping' },
    { kind: 'ack', largest: 1000, ackDelay: 25, recvTime: 99999, firstRange: 3, ranges: [1, 4, 0, 0] },
    { kind: 'nack', packetNumbers: [5, 7, 0xfffffff0] },
    data,
    { ...(data as object), flags: 0, fecGroup: 0, fecIndex: 0 } as Frame,
    { kind: 'fec', group: 77, code: 1, k: 4, n: 6, index: 5, symbol: b(9) },
    { kind: 'stream-open', streamId: 2, streamClass: 2, reliability: 1, priority: 2 },
    { kind: 'mtu-probe', probeId: 3, size: 1452 },
    { kind: 'mtu-probe-ack', probeId: 3, size: 1452 },
    { kind: 'close', code: 0, reason: 'bye' },
    { kind: 'path-challenge', data: b(8, 1) },
    { kind: 'path-response', data: b(8, 2) },
    { kind: 'feedback', recvRateKbps: 1200, loss: 655, intervalMs: 100 },
    { kind: 'finished', mac: b(32, 3) },
    { kind: 'lost', streamId: 2, messageId: 70000 },
  ];
  for (const f of frames) roundTrip(f);
});

test('golden bytes of a DATA frame and an ACK frame', () => {
  // type 0xfc (DATA, K R F D L, the only fragment), stream 3, message id 0x01020304 as a
  // varint, deadline 600, timestamp 123456, FEC group 9 index 2, length 5, payload.
  assert.equal(hex(roundTrip(data)), 'fc03848688080258' + '0001e240090205' + '0707070707');
  const ack: AckFrame = { kind: 'ack', largest: 10, ackDelay: 1, recvTime: 2, firstRange: 2, ranges: [0, 1] };
  assert.equal(hex(roundTrip(ack)), '020000000a00010000000201000200000001');
  const seen: [number, number][] = [];
  forEachAckRange(ack, (lo, hi) => seen.push([lo, hi]));
  assert.deepEqual(seen, [[8, 10], [5, 6]]);
});

test('an ACK whose ranges run below zero is refused', () => {
  const bytes = Uint8Array.from(Buffer.from('020000000300010000000201000200000005', 'hex'));
  assert.throws(() => decodeFrames(bytes, 0, bytes.length, []), WireError);
});

test('headers and handshake bodies round-trip', () => {
  const buf = new Uint8Array(1500);
  const w = new Writer(buf);
  encodeHeader(w, { version: VERSION, type: PacketType.PROTECTED, sessionId: 0x0102030405060708n, packetNumber: 42, clearLength: 7 });
  // PROTECTED: the short header, here with the whole packet number (P) and a clear length (C).
  assert.equal(hex(buf.subarray(0, w.pos)), '830102030405060708' + '0000002a0007');
  const h = decodeHeader(new Reader(buf, 0, w.pos));
  assert.equal(h.sessionId, 0x0102030405060708n);
  assert.equal(h.packetNumber, 42);
  assert.equal(h.clearLength, 7);
  const bad = buf.slice(0, w.pos);
  bad[0] = 9;
  assert.throws(() => decodeHeader(new Reader(bad)), /bad-version/);

  const ch = { mode: 2, publicKey: b(32, 1), random: b(32, 2), identity: new TextEncoder().encode('live/key'), cookie: b(20, 4) };
  const w2 = new Writer(new Uint8Array(1500));
  encodeClientHello(w2, ch);
  assert.deepEqual(norm(decodeClientHello(new Reader(w2.buf, 0, w2.pos)) as never), norm(ch as never));
  const w3 = new Writer(new Uint8Array(100));
  encodeRetry(w3, { cookie: b(40) });
  assert.equal(decodeRetry(new Reader(w3.buf, 0, w3.pos)).cookie.length, 40);
  const sh = { mode: 1, publicKey: b(32, 5), staticKey: b(32, 8), random: b(32, 6), mac: b(32, 7) };
  const w4 = new Writer(new Uint8Array(200));
  encodeServerHello(w4, sh);
  assert.deepEqual(norm(decodeServerHello(new Reader(w4.buf, 0, w4.pos)) as never), norm(sh as never));
});
