import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkReader, RtmpProtocolError } from '../../../src/server/rtmp/ChunkReader.js';
import { ChunkWriter } from '../../../src/server/rtmp/ChunkWriter.js';
import type { RtmpMessage } from '../../../src/server/rtmp/messages.js';

function reader(limits?: ConstructorParameters<typeof ChunkReader>[1]): { r: ChunkReader; got: RtmpMessage[] } {
  const got: RtmpMessage[] = [];
  return { r: new ChunkReader((m) => got.push(m), limits), got };
}

const bytes = (...parts: (number[] | Uint8Array)[]): Uint8Array => new Uint8Array(parts.flatMap((p) => [...p]));
const fill = (n: number, v: number): number[] => new Array<number>(n).fill(v);

test('writer output reads back: sizes across chunk boundaries, extended timestamps, split at every byte', () => {
  const w = new ChunkWriter();
  for (const chunkSize of [1, 128, 4096]) {
    w.chunkSize = chunkSize;
    const msgs = [0, 1, 127, 128, 129, 5000].map((len, i) => ({
      csid: 4 + (i % 3), type: 9, streamId: 1, timestamp: i === 5 ? 0x1234_5678 : i * 33,
      payload: new Uint8Array(len).map((_, k) => (k * 7 + i) & 0xff),
    }));
    const wire = bytes(...msgs.map((m) => w.encode(m, m.payload.subarray(3), m.payload.subarray(0, 3))));
    for (const step of [1, 13, wire.length]) {
      const { r, got } = reader();
      r.chunkSize = chunkSize;
      for (let i = 0; i < wire.length; i += step) r.push(wire.subarray(i, i + step));
      assert.equal(got.length, msgs.length, `chunk size ${chunkSize}, step ${step}`);
      got.forEach((m, i) => {
        assert.equal(m.timestamp, msgs[i]!.timestamp);
        assert.equal(m.csid, msgs[i]!.csid);
        assert.deepEqual(m.payload, msgs[i]!.payload);
      });
    }
  }
});

test('header types 1, 2 and 3 reuse and advance the chunk stream state; 2- and 3-byte basic headers', () => {
  const { r, got } = reader();
  r.push(bytes(
    [0x04, 0, 0x03, 0xe8, 0, 0, 2, 9, 1, 0, 0, 0, 0xaa, 0xbb], // fmt 0, csid 4, ts 1000, len 2, video, stream 1
    [0x44, 0, 0, 33, 0, 0, 1, 8, 0xcc], // fmt 1: +33, len 1, audio
    [0x84, 0, 0, 40, 0xdd], // fmt 2: +40
    [0xc4, 0xee], // fmt 3 starting a message: +40 again
    [0x00, 0x00, 0, 0, 5, 0, 0, 1, 20, 0, 0, 0, 0, 0x05], // csid 64 (2-byte header)
    [0x01, 0xff, 0x00, 0, 0, 6, 0, 0, 1, 20, 0, 0, 0, 0, 0x05], // csid 64+255 (3-byte header)
  ));
  assert.deepEqual(got.map((m) => [m.csid, m.type, m.streamId, m.timestamp, [...m.payload]]), [
    [4, 9, 1, 1000, [0xaa, 0xbb]],
    [4, 8, 1, 1033, [0xcc]],
    [4, 8, 1, 1073, [0xdd]],
    [4, 8, 1, 1113, [0xee]],
    [64, 20, 0, 5, [0x05]],
    [319, 20, 0, 6, [0x05]],
  ]);
});

test('a type-3 continuation repeats the extended timestamp when the message used one', () => {
  const { r, got } = reader();
  r.chunkSize = 2;
  r.push(bytes([0x06, 0xff, 0xff, 0xff, 0, 0, 3, 9, 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00, 1, 2], [0xc6, 0x01, 0x00, 0x00, 0x00, 3]));
  assert.equal(got.length, 1);
  assert.equal(got[0]!.timestamp, 0x0100_0000);
  assert.deepEqual([...got[0]!.payload], [1, 2, 3]);
});

test('Set Chunk Size applies to the next chunk; 0 and above 2^24 end the connection', () => {
  const { r, got } = reader();
  r.push(bytes([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 200], [0x04, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0], fill(200, 7)));
  assert.equal(r.chunkSize, 200);
  assert.equal(got.length, 2);
  assert.equal(got[1]!.payload.length, 200);
  for (const size of [0, 0x0100_0001, 0x7fff_ffff]) {
    const { r: r2 } = reader();
    const v = [(size >>> 24) & 0xff, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff];
    assert.throws(() => r2.push(bytes([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0], v)), (e: unknown) => e instanceof RtmpProtocolError && e.reason === 'bad chunk size');
  }
});

test('Abort drops the unfinished message on that chunk stream', () => {
  const { r, got } = reader();
  r.chunkSize = 4;
  r.push(bytes([0x04, 0, 0, 0, 0, 0, 8, 9, 1, 0, 0, 0, 1, 2, 3, 4])); // half of an 8-byte message
  r.push(bytes([0x02, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 4])); // abort csid 4
  r.push(bytes([0x04, 0, 0, 9, 0, 0, 1, 9, 1, 0, 0, 0, 0x42]));
  assert.deepEqual(got.map((m) => [m.type, m.payload.length]), [[2, 4], [9, 1]]);
  assert.equal(r.dropped, 1);
});

test('refuses oversized messages before reading them, chunk streams opened without type 0, and too many chunk streams', () => {
  const { r } = reader({ maxMessageBytes: 1000, maxChunkStreams: 4, maxBufferedBytes: 4000 });
  assert.throws(() => r.push(bytes([0x04, 0, 0, 0, 0x00, 0x03, 0xe9, 9, 1, 0, 0, 0])), /message too long/);
  const { r: r2 } = reader();
  assert.throws(() => r2.push(bytes([0x45, 0, 0, 0, 0, 0, 1, 9, 0])), /bad chunk header/);
  const { r: r3 } = reader({ maxMessageBytes: 1000, maxChunkStreams: 4, maxBufferedBytes: 4000 });
  assert.throws(() => {
    for (let csid = 3; csid < 10; csid++) r3.push(bytes([csid, 0, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0]));
  }, /too many chunk streams/);
  const { r: r4 } = reader({ maxMessageBytes: 1000, maxChunkStreams: 64, maxBufferedBytes: 2500 });
  r4.chunkSize = 900;
  assert.throws(() => {
    for (let csid = 3; csid < 10; csid++) r4.push(bytes([csid, 0, 0, 0, 0, 0x03, 0xe8, 9, 1, 0, 0, 0], fill(900, 1)));
  }, /too much buffered/);
});
