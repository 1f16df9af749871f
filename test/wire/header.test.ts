import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, WireError, Writer } from '../../src/wire/buf.js';
import { PacketType, VERSION, decodeHeader, encodeShortHeader, expandPacketNumber, isProtected, peekSessionId } from '../../src/wire/header.js';

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const sid = 0x0123456789abcdefn;

function short(pn: number, pnLen: 2 | 4, clear: number): Uint8Array {
  const w = new Writer(new Uint8Array(32));
  const n = encodeShortHeader(w, sid, pn, pnLen, clear);
  assert.equal(n, w.pos);
  return w.buf.slice(0, w.pos);
}

test('golden short headers: 11 bytes with a 16-bit packet number, 13 with 32 bits, 2 more with a clear length', () => {
  assert.equal(hex(short(0x12345, 2, -1)), '80' + '0123456789abcdef' + '2345');
  assert.equal(hex(short(0x12345, 4, -1)), '81' + '0123456789abcdef' + '00012345');
  assert.equal(hex(short(7, 2, 42)), '82' + '0123456789abcdef' + '0007' + '002a');
  const h = decodeHeader(new Reader(short(0x12345, 2, 42)));
  assert.deepEqual([h.type, h.sessionId, h.packetNumber, h.pnLen, h.clearLength, h.headerLen], [PacketType.PROTECTED, sid, 0x2345, 2, 42, 13]);
  const h4 = decodeHeader(new Reader(short(0xfffffff0, 4, -1)));
  assert.deepEqual([h4.packetNumber, h4.pnLen, h4.clearLength, h4.headerLen], [0xfffffff0, 4, -1, 13]);
  assert.ok(isProtected(short(1, 2, -1)));
  assert.equal(peekSessionId(Uint8Array.of(...short(1, 4, 0), 0)), sid);
});

test('hostile short headers: reserved bits, truncation, and a long-form PROTECTED are refused', () => {
  const good = short(5, 4, 3);
  for (let cut = 0; cut < good.length; cut++) assert.throws(() => decodeHeader(new Reader(good.subarray(0, cut))), WireError);
  for (const bit of [0x04, 0x08, 0x10, 0x20, 0x40]) {
    const bad = good.slice();
    bad[0] = bad[0]! | bit;
    assert.throws(() => decodeHeader(new Reader(bad)), /bad-type/);
  }
  const longProtected = Uint8Array.of(VERSION, PacketType.PROTECTED, ...new Uint8Array(12));
  assert.throws(() => decodeHeader(new Reader(longProtected)), /bad-type/);
});

test('a 16-bit packet number expands to the one nearest the next expected, across the wrap', () => {
  assert.equal(expandPacketNumber(5, -1), 5);
  assert.equal(expandPacketNumber(0x0001, 0xffff), 0x10001);
  assert.equal(expandPacketNumber(0xfffe, 0x10001), 0xfffe); // a late packet from before the wrap
  assert.equal(expandPacketNumber(0x2345, 0x12000), 0x12345);
  assert.equal(expandPacketNumber(0x8000, 0x10000), 0x18000);
  assert.equal(expandPacketNumber(0x7fff, 0x20000), 0x27fff);
  assert.equal(expandPacketNumber(0x9000, 0x20000), 0x19000);
  // Every number within 2^15 of the expected one comes back exactly.
  for (const largest of [0, 1000, 0xffff, 0x123456, 0xfffeffff]) {
    for (const d of [-0x7fff, -1, 0, 1, 0x7ffe]) {
      const pn = largest + 1 + d;
      if (pn < 1 || pn > 0xffffffff) continue;
      assert.equal(expandPacketNumber(pn & 0xffff, largest), pn, `largest ${largest} pn ${pn}`);
    }
  }
});
