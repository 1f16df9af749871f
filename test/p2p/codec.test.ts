import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DIGEST_BYTES, MAX_SLICE_BYTES, WireError, decode, encode, encodedSize } from '../../src/p2p/codec.js';
import { DEFAULT_CONFIG } from '../../src/p2p/config.js';
import { Msg, type AnyMsg } from '../../src/p2p/messages.js';
import { Peer } from '../../src/p2p/Peer.js';
import { nodeHasher } from '../../src/bench/p2p/Simulator.js';

const info = (seq: number) => ({ seq, captureMs: seq * 33, key: seq % 30 === 0, size: 4000 + seq, digest: new Uint8Array(DIGEST_BYTES).fill(seq) });

const samples: AnyMsg[] = [
  { t: Msg.Join, region: 2, isp: 1, uploadKbps: 3000, reachable: true, nominate: true },
  { t: Msg.Report, backlogMs: 120, continuity: 998, parents: [{ id: 7, onTime: 950 }, { id: 9, onTime: 1000 }] },
  { t: Msg.Compensate, seqs: [5, 3, 900, 4] },
  { t: Msg.NeedParent, substream: 3, not: 12, late: true },
  { t: Msg.BadPeer, id: 44, reason: 1 },
  { t: Msg.Leave },
  { t: Msg.NeedNeighbours, count: 6 },
  { t: Msg.Welcome, id: 5, substreams: 8, index: [info(30), info(31)], neighbours: [1, 2, 3], parents: [0, 4, 4, 9, 0, 1, 2, 3] },
  { t: Msg.Digests, infos: [info(100), info(101), info(102)] },
  { t: Msg.Parent, substream: 1, id: 77 },
  { t: Msg.Role, mask: 0b101 },
  { t: Msg.Refused, seqs: [1] },
  { t: Msg.Neighbours, ids: [8, 9] },
  { t: Msg.Hello, ack: true },
  { t: Msg.BufferMap, base: 1000, bits: new Uint8Array([0xff, 0x0f]) },
  { t: Msg.Request, seqs: [] },
  { t: Msg.NotHave, seqs: [70000, 70001] },
  { t: Msg.Subscribe, mask: 0xff },
  { t: Msg.SubAck, mask: 3 },
  { t: Msg.Bye },
  { t: Msg.Slice, seq: 12, captureMs: 396, key: false, pushed: true, payload: new Uint8Array([1, 2, 3]) },
];

test('every message round-trips, and encodedSize is the encoded length', () => {
  for (const m of samples) {
    const bytes = encode(m);
    assert.equal(encodedSize(m), bytes.length, `size of type ${m.t}`);
    const back = decode(bytes) as AnyMsg & { seqs?: number[] };
    const want = 'seqs' in m ? { ...m, seqs: [...new Set(m.seqs)].sort((a, b) => a - b) } : m;
    assert.deepEqual(back, want);
  }
});

test('every truncation of every message is a WireError, as are trailing bytes and unknown types', () => {
  for (const m of samples) {
    const bytes = encode(m);
    for (let n = 0; n < bytes.length; n++) assert.throws(() => decode(bytes.subarray(0, n)), WireError, `type ${m.t} cut at ${n}`);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    assert.throws(() => decode(longer), WireError);
  }
  assert.throws(() => decode(new Uint8Array([200])), WireError);
});

test('lying counts and lengths are refused before anything is allocated for them', () => {
  // A Welcome claiming 65535 slice infos in a 10-byte message.
  assert.throws(() => decode(new Uint8Array([Msg.Welcome, 0, 0, 0, 1, 8, 0xff, 0xff, 0, 0])), /too many|truncated/);
  // A slice claiming 2^31 bytes of payload.
  assert.throws(() => decode(new Uint8Array([Msg.Slice, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x08])), /slice too big/);
  assert.throws(() => encode({ t: Msg.Slice, seq: 1, captureMs: 1, key: false, pushed: false, payload: new Uint8Array(MAX_SLICE_BYTES + 1) }), /slice too big/);
  // A buffer map longer than the limit, and a seq list that is not ascending.
  assert.throws(() => decode(new Uint8Array([Msg.BufferMap, 0, 0, 0, 0, 200, ...new Array(200).fill(0)])), /too many/);
  assert.throws(() => decode(new Uint8Array([Msg.Request, 2, 0, 0, 0, 5, 0])), /not ascending/);
});

test('random bytes only ever decode or throw WireError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        decode(bytes);
      } catch (err) {
        assert.ok(err instanceof WireError, String(err));
      }
    }),
    { numRuns: 5000 },
  );
  // Starting from valid messages with a few bytes flipped, the same.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: samples.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (i, flips) => {
      const bytes = encode(samples[i]!);
      for (const [at, v] of flips) bytes[at % bytes.length] = v;
      try {
        decode(bytes);
      } catch (err) {
        assert.ok(err instanceof WireError, String(err));
      }
    }),
    { numRuns: 5000 },
  );
});

test('a peer counts garbage from the wire and drops a neighbour that keeps sending it', () => {
  const p = new Peer({ config: DEFAULT_CONFIG, region: 0, isp: 0, uploadKbps: 1000, reachable: true, hash: nodeHasher, seed: 1 });
  p.start(0);
  p.receive(10, 0, { t: Msg.Welcome, id: 1, substreams: 8, index: [], neighbours: [2], parents: [] });
  p.receive(20, 2, { t: Msg.Hello, ack: true });
  assert.ok(p.neighbours.has(2));
  for (let i = 0; i < 5; i++) p.receiveBytes(30 + i, 2, new Uint8Array([Msg.Slice, 1, 2]));
  assert.equal(p.stats.wireErrors, 5);
  assert.ok(!p.neighbours.has(2), 'the garbage sender is no longer a neighbour');
  assert.ok(p.drain().some((o) => o.to === 0 && o.msg.t === Msg.BadPeer), 'and the edge hears of it');
});
