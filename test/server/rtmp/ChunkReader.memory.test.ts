import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BUFFER_OVERHEAD, CHUNK_STREAM_OVERHEAD, ChunkReader, RtmpProtocolError } from '../../../src/server/rtmp/ChunkReader.js';
import type { RtmpMessage } from '../../../src/server/rtmp/messages.js';
import { MemoryBudget } from '../../../src/server/limits/MemoryBudget.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A type-0 header on `csid` for a video message of `length` bytes. */
const header = (csid: number, length: number): number[] => [csid, 0, 0, 0, (length >> 16) & 255, (length >> 8) & 255, length & 255, 9, 1, 0, 0, 0];

test('a part taken from a large read buffer is copied: no view on the socket buffer outlives push', () => {
  const r = new ChunkReader(() => undefined);
  r.chunkSize = 1;
  const parts = 1024;
  gc();
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < parts; i++) {
    // What a socket delivers: a 64 KiB read buffer of its own holding one payload byte of the
    // unfinished message, the rest filler. Nothing here keeps the buffer once push returns.
    const read = Buffer.allocUnsafeSlow(65536).fill(0);
    const chunk = i === 0 ? [...header(4, 1 << 20), i] : [0xc4, i & 255];
    read.set(chunk);
    r.push(read.subarray(0, chunk.length));
  }
  gc();
  const pinned = process.memoryUsage().arrayBuffers - before;
  console.log(`1024 one-byte parts from 64 KiB reads: array buffers +${(pinned / 1e6).toFixed(1)} MB, retained ${r.retained}`);
  assert.ok(pinned < 4e6, `${pinned} bytes of read buffers still held`);
  assert.ok(r.retained < 16384, `retained ${r.retained}`);
});

test('chunk size 1 costs O(1) objects per message: a 4 MiB unfinished message holds about 4 MiB, not millions of views', () => {
  const r = new ChunkReader(() => undefined);
  r.chunkSize = 1;
  const length = 4 << 20;
  r.push(new Uint8Array([...header(4, length), 0]));
  const piece = new Uint8Array(1 << 16);
  for (let i = 0; i < piece.length; i += 2) piece[i] = 0xc4;
  gc();
  const before = process.memoryUsage();
  for (let sent = 1; sent + piece.length / 2 < length; sent += piece.length / 2) r.push(piece);
  gc();
  const after = process.memoryUsage();
  const heap = after.heapUsed - before.heapUsed;
  const buffers = after.arrayBuffers - before.arrayBuffers;
  console.log(`chunk size 1, 4 MiB unfinished: heap +${(heap / 1e6).toFixed(1)} MB, array buffers +${(buffers / 1e6).toFixed(1)} MB, retained ${r.retained}`);
  assert.ok(heap < 8e6, `heap grew ${heap} bytes`);
  assert.ok(buffers < 12e6, `array buffers grew ${buffers} bytes`);
  assert.equal(r.retained, length + BUFFER_OVERHEAD + CHUNK_STREAM_OVERHEAD, 'retained is the one buffer plus fixed costs');
});

test('buffers grow with what arrived, not with the claimed length; the budget is asked first and gets everything back', () => {
  const budget = new MemoryBudget({ totalBytes: 1 << 20, perKeyBytes: 1 << 20 });
  const account = budget.open('10.0.0.1');
  const got: RtmpMessage[] = [];
  const r = new ChunkReader((m) => got.push(m), { maxMessageBytes: 8 << 20, maxChunkStreams: 8, maxBufferedBytes: 16 << 20 }, account);
  r.push(new Uint8Array([...header(4, 8 << 20), 1, 2, 3]));
  assert.equal(r.retained, 4096 + BUFFER_OVERHEAD + CHUNK_STREAM_OVERHEAD, 'an 8 MiB claim with 3 bytes in holds the first 4 KiB buffer only');
  assert.equal(account.held, r.retained);
  // The chunk (128 bytes) ends; a second stream's small message completes and gives its buffer back.
  r.push(new Uint8Array(125));
  r.push(new Uint8Array([...header(5, 10), ...new Array<number>(10).fill(7)]));
  assert.equal(got.length, 1);
  assert.equal(r.retained, 4096 + BUFFER_OVERHEAD + 2 * CHUNK_STREAM_OVERHEAD);
  // Growing the 8 MiB message past the budget's 1 MiB ends the connection with 'memory budget'.
  r.chunkSize = 1 << 20;
  assert.throws(() => r.push(new Uint8Array([0xc4, ...new Array<number>(1 << 20).fill(0)])), (e: unknown) => e instanceof RtmpProtocolError && e.reason === 'memory budget');
  assert.equal(budget.refused.total, 1);
  r.dispose();
  account.close();
  assert.equal(budget.used, 0, 'everything given back');
});
