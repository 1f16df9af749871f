import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, WireError, Writer, varintLen } from '../../src/wire/buf.js';
import { decodeFrames, encodeFrame, type Frame } from '../../src/wire/frame.js';
import { DATA_FEC_OVERHEAD, DATA_FLAG_FEC, DATA_FLAG_KEYFRAME, DATA_FLAG_REFERENCE, NO_DEADLINE, dataFrameSize, decodeData, encodeData, type DataFrame } from '../../src/wire/data.js';

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
/** Golden strings are spaced by field. */
const g = (s: string) => s.replace(/ /g, '');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/ /g, ''), 'hex'));

function frame(o: Partial<DataFrame>): DataFrame {
  return {
    kind: 'data', flags: DATA_FLAG_REFERENCE, streamId: 2, messageId: 300, fragIndex: 0, fragCount: 1,
    deadlineOffset: 600, timestamp: 33, fecGroup: 0, fecIndex: 0, payload: Uint8Array.of(0xde, 0xad), ...o,
  };
}

function enc(f: DataFrame, toEnd = false): Uint8Array {
  const w = new Writer(new Uint8Array(1500));
  encodeData(w, f, toEnd);
  assert.equal(w.pos, dataFrameSize(f, toEnd), 'dataFrameSize agrees with the encoder');
  return w.buf.slice(0, w.pos);
}

function dec(b: Uint8Array): Frame[] {
  const out: Frame[] = [];
  decodeFrames(b, 0, b.length, out);
  return out;
}

test('golden bytes: the only, first, middle and last fragment of a message, with and without their length', () => {
  // 0xac = DATA | R | D | L | only; stream 2; message 300 = ac 02; deadline 600; timestamp 33; length 2.
  assert.equal(hex(enc(frame({}))), g('ac 02 ac02 0258 00000021 02 dead'));
  // Without L the payload runs to the end: two bytes fewer here.
  assert.equal(hex(enc(frame({}), true)), g('a8 02 ac02 0258 00000021 dead'));
  // First of three, keyframe, FEC group 5 index 0: 0xfd = DATA | K | R | F | D | L | first.
  assert.equal(hex(enc(frame({ flags: DATA_FLAG_KEYFRAME | DATA_FLAG_REFERENCE | DATA_FLAG_FEC, fragCount: 3, fecGroup: 5 }))), g('fd 02 ac02 0258 00000021 05 00 02 dead'));
  // Middle: index 1, no timestamp (the first fragment has it).
  assert.equal(hex(enc(frame({ fragIndex: 1, fragCount: 3, timestamp: 999 }), true)), g('aa 02 ac02 01 0258 dead'));
  // Last: index 2 (count 3), no deadline: 0xa3 = DATA | R | last.
  assert.equal(hex(enc(frame({ fragIndex: 2, fragCount: 3, deadlineOffset: NO_DEADLINE }), true)), g('a3 02 ac02 02 dead'));
});

test('a decoded fragment gives what the wire holds: the count from the last, the timestamp from the first', () => {
  const [first] = dec(enc(frame({ fragCount: 3 }))) as DataFrame[];
  assert.equal(first!.fragIndex, 0);
  assert.equal(first!.fragCount, 0);
  assert.equal(first!.timestamp, 33);
  const [middle] = dec(enc(frame({ fragIndex: 1, fragCount: 3 }))) as DataFrame[];
  assert.deepEqual([middle!.fragIndex, middle!.fragCount, middle!.timestamp], [1, 0, 0]);
  const [last] = dec(enc(frame({ fragIndex: 2, fragCount: 3 }))) as DataFrame[];
  assert.deepEqual([last!.fragIndex, last!.fragCount, last!.deadlineOffset], [2, 3, 600]);
  const [only] = dec(enc(frame({ flags: DATA_FLAG_KEYFRAME }))) as DataFrame[];
  assert.deepEqual([only!.fragCount, only!.flags, only!.timestamp], [1, DATA_FLAG_KEYFRAME, 33]);
});

test('re-encoding a decoded frame gives the sender\'s bytes (FEC source symbols must match on both sides)', () => {
  const cases = [
    frame({}), frame({ fragCount: 40 }), frame({ fragIndex: 17, fragCount: 40, timestamp: 5 }), frame({ fragIndex: 39, fragCount: 40 }),
    frame({ flags: DATA_FLAG_FEC, fecGroup: 2 ** 32 - 1, fecIndex: 255, messageId: 2 ** 32 - 1, streamId: 0xffff, deadlineOffset: 0 }),
  ];
  for (const f of cases) {
    const a = enc(f);
    const r = new Reader(a);
    const again = enc(decodeData(r, r.u8()));
    assert.equal(hex(again), hex(a));
  }
});

test('the largest DATA header stays within DATA_FEC_OVERHEAD (the budget fragments are cut by)', () => {
  const worst = frame({ flags: DATA_FLAG_FEC | DATA_FLAG_KEYFRAME, streamId: 0xffff, messageId: 2 ** 32 - 1, fragIndex: 4094, fragCount: 4096, fecGroup: 2 ** 32 - 1, fecIndex: 255, payload: new Uint8Array(0) });
  assert.ok(dataFrameSize(worst, true) <= DATA_FEC_OVERHEAD, String(dataFrameSize(worst, true)));
  assert.ok(dataFrameSize({ ...worst, fragIndex: 0 }, true) <= DATA_FEC_OVERHEAD);
});

test('hostile DATA: truncations, lying lengths, overlong varints and impossible fragments are WireErrors', () => {
  const good = enc(frame({ fragIndex: 1, fragCount: 3, flags: DATA_FLAG_FEC, fecGroup: 70000 }));
  for (let cut = 1; cut < good.length; cut++) assert.throws(() => dec(good.subarray(0, cut)), WireError, `cut at ${cut}`);
  const refuse = (h: string, reason: string) => assert.throws(() => dec(bytes(h)), (e: unknown) => e instanceof WireError && e.reason === reason, h);
  refuse('ac02ac020258000000210aff', 'truncated'); // length 10, 1 byte there
  refuse('ac02ac02025800000021ffffffff0f', 'truncated'); // length 2^32 - 1: checked, never allocated
  refuse('ac0280000258000000210100', 'bad-varint'); // message id 0 written in two bytes
  refuse('ac02ffffffffff01', 'bad-varint'); // six-byte varint
  refuse('ac02ffffffff1f', 'bad-varint'); // above 2^32 - 1
  refuse('aa0201000258', 'bad-fragment'); // a middle fragment with index 0
  refuse('ab0201802002580000', 'bad-fragment'); // index 4096
  refuse('a80201ffff00000000', 'bad-fragment'); // D with 0xffff (no deadline is written as no D)
});

test('a DATA frame without its length ends its section: what follows is payload, not frames', () => {
  const f = frame({});
  const w = new Writer(new Uint8Array(100));
  encodeFrame(w, f, true);
  const section = w.buf.slice(0, w.pos + 1); // one more byte (a PADDING) would be payload
  const [d] = dec(section) as DataFrame[];
  assert.equal(d!.payload.length, 3);
  assert.equal(varintLen(127) + varintLen(128) + varintLen(2 ** 32 - 1), 1 + 2 + 5);
});
