import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, Writer } from '../../src/wire/buf.js';
import { RefuseCode, decodeRefuse, encodeRefuse, refuseLength } from '../../src/wire/refuse.js';
import { PacketType, decodeHeader } from '../../src/wire/header.js';
import { refuseDatagram } from '../../src/transport/Handshake.js';

test('REFUSE round-trips, caps its reason at 255 bytes, and refuses an empty or truncated one', () => {
  const w = new Writer(new Uint8Array(300));
  encodeRefuse(w, { code: RefuseCode.ENCRYPTION, reason: 'x'.repeat(400) });
  assert.equal(w.pos, refuseLength('x'.repeat(400)));
  const m = decodeRefuse(new Reader(w.buf, 0, w.pos));
  assert.deepEqual(m, { code: 4, reason: 'x'.repeat(255) });
  assert.throws(() => decodeRefuse(new Reader(Uint8Array.of(0, 4, 0))), /bad-length/);
  assert.throws(() => decodeRefuse(new Reader(Uint8Array.of(0, 4, 9, 65))));
});

test('a REFUSE datagram is a long-header REFUSE packet for its session', () => {
  const d = refuseDatagram(0x0123456789abcdefn, 4, 'too weak');
  const r = new Reader(d);
  const h = decodeHeader(r);
  assert.equal(h.type, PacketType.REFUSE);
  assert.equal(h.sessionId, 0x0123456789abcdefn);
  assert.deepEqual(decodeRefuse(r), { code: 4, reason: 'too weak' });
  assert.equal(r.pos, d.length);
});
