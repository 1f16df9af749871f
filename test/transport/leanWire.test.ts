import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, messages } from './Pair.js';
import { decodeHeader, isProtected } from '../../src/wire/header.js';
import { Reader } from '../../src/wire/buf.js';
import type { EncryptionMode } from '../../src/transport/api.js';

/**
 * 40 s of 25 messages a second (2,500 bytes each: 3 fragments) with 2% loss each way, in one
 * encryption mode; returns what the server got and the short headers the client sent.
 */
function run(encryption: EncryptionMode) {
  const headers: { pnLen: number; headerLen: number; len: number }[] = [];
  const p = new Pair({
    client: { encryption },
    up: { delayMs: 40, loss: 0.02, filter: (d) => {
      if (isProtected(d)) {
        const h = decodeHeader(new Reader(d));
        headers.push({ pnLen: h.pnLen!, headerLen: h.headerLen!, len: d.length });
      }
      return true;
    } },
    down: { delayMs: 40, loss: 0.02 },
  });
  p.connect();
  const id = p.client.openStream(p.now, { class: 'control', reliability: 'reliable', priority: 0 });
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 1000; i++) {
    const m = new Uint8Array(2500).fill(i & 0xff);
    m[0] = i >> 8;
    sent.push(m);
    p.client.send(p.now, id, m);
    p.run(p.now + 40);
  }
  p.run(p.now + 5000, () => messages(p.serverEvents).length >= sent.length);
  return { p, sent, headers };
}

for (const mode of ['all', 'headers', 'none'] as const) {
  test(`mode ${mode}: every message arrives whole over lossy links, and once acked the header is 11 bytes (+2 with a clear length)`, () => {
    const { p, sent, headers } = run(mode);
    const got = messages(p.serverEvents);
    assert.equal(got.length, sent.length);
    for (let i = 0; i < sent.length; i++) assert.deepEqual(got[i]!.data, sent[i]);
    const later = headers.slice(50);
    const short = later.filter((h) => h.pnLen === 2).length;
    assert.ok(short / later.length > 0.99, `${short} of ${later.length} with a 16-bit packet number`);
    for (const h of later) assert.equal(h.headerLen, (h.pnLen === 2 ? 11 : 13) + (mode === 'headers' ? 2 : 0));
    assert.equal(p.serverSession!.stats().dropped['auth'] ?? 0, 0);
    assert.ok(p.client.stats().retransmits > 0);
  });
}
