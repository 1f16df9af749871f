import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writer } from '../../src/wire/buf.js';
import { encodeHeader, encodeShortHeader, PacketType, VERSION } from '../../src/wire/header.js';
import { encodeFrame } from '../../src/wire/frame.js';
import { encodeRetry } from '../../src/wire/retry.js';

/** The hex of the code blocks in docs/protocol.md section 15, comments after the bytes dropped. */
function specExamples(): string[] {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## 15. Worked example'));
  const blocks = [...section.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.map((b) =>
    b.split('\n').map((line) => (/^((?:[0-9a-f]{2} ?)+)/.exec(line)?.[1] ?? '').trim()).filter(Boolean).join(' '),
  );
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').match(/.{2}/g)!.join(' ');

test('the worked examples in docs/protocol.md are what the codecs produce', () => {
  const [protectedPacket, retry] = specExamples();
  const buf = new Uint8Array(200);
  const w = new Writer(buf);
  encodeShortHeader(w, 0x0123456789abcdefn, 7, 2, -1);
  encodeFrame(w, { kind: 'ack', largest: 41, ackDelay: 12, recvTime: 123456, firstRange: 3, ranges: [1, 0] });
  encodeFrame(w, { kind: 'data', flags: 0xc0, streamId: 2, messageId: 9, fragIndex: 0, fragCount: 1, deadlineOffset: 600, timestamp: 33, fecGroup: 0, fecIndex: 0, payload: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) }, true);
  assert.equal(w.pos, 42);
  assert.equal(protectedPacket, hex(buf.subarray(0, w.pos)));
  const b2 = new Uint8Array(100);
  const w2 = new Writer(b2);
  encodeHeader(w2, { version: VERSION, type: PacketType.RETRY, sessionId: 0x0123456789abcdefn, packetNumber: 0, clearLength: 0 });
  encodeRetry(w2, { cookie: new Uint8Array(20).fill(0xaa) });
  assert.equal(retry, hex(b2.subarray(0, w2.pos)));
});
