import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkReader, RtmpProtocolError } from '../../../src/server/rtmp/ChunkReader.js';
import { ChunkWriter } from '../../../src/server/rtmp/ChunkWriter.js';
import { encodeAmf0 } from '../../../src/media/amf0.js';
import { xorshift as rng, concat } from '../../fuzz.js';

/** A short valid chunk stream using every header type, extended times, 2/3-byte ids and a chunk-size change. */
function seed(): Uint8Array {
  const w = new ChunkWriter();
  const parts: Uint8Array[] = [];
  parts.push(w.encode({ csid: 3, type: 20, streamId: 0, timestamp: 0 }, encodeAmf0('connect', 1, { app: 'live', tcUrl: 'rtmp://x/live' })));
  parts.push(w.encode({ csid: 2, type: 1, streamId: 0, timestamp: 0 }, new Uint8Array([0, 0, 0, 60])));
  w.chunkSize = 60;
  parts.push(w.encode({ csid: 6, type: 9, streamId: 1, timestamp: 40 }, new Uint8Array(150).fill(0x17)));
  parts.push(new Uint8Array([0x46, 0, 0, 33, 0, 0, 10, 9, ...new Array<number>(10).fill(0x27)])); // fmt 1
  parts.push(new Uint8Array([0x86, 0, 0, 33, ...new Array<number>(10).fill(0x27)])); // fmt 2
  parts.push(new Uint8Array([0xc6, ...new Array<number>(10).fill(0x27)])); // fmt 3, new message
  parts.push(w.encode({ csid: 4, type: 8, streamId: 1, timestamp: 0x0100_0000 }, new Uint8Array(130).fill(0xaf)));
  parts.push(new Uint8Array([0x00, 0x10, 0, 0, 1, 0, 0, 2, 18, 1, 0, 0, 0, 5, 5]));
  parts.push(new Uint8Array([0x01, 0x10, 0x01, 0, 0, 1, 0, 0, 2, 18, 1, 0, 0, 0, 5, 5]));
  parts.push(new Uint8Array([0x02, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 6])); // abort csid 6
  return concat(parts);
}


const LIMITS = { maxMessageBytes: 1 << 16, maxChunkStreams: 16, maxBufferedBytes: 1 << 17 };

function fuzz(seedValue: number, n: number): { messages: number; refused: number; ms: number } {
  const base = seed();
  const rand = rng(seedValue);
  const work = new Uint8Array(base.length + 64);
  let messages = 0;
  let refused = 0;
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const started = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      work.set(base);
      let len = base.length;
      const kind = i % 5;
      if (kind === 0) {
        for (let k = 0, m = 1 + Math.floor(rand() * 4); k < m; k++) work[Math.floor(rand() * len)]! ^= 1 << Math.floor(rand() * 8);
      } else if (kind === 1) {
        len = Math.floor(rand() * len);
      } else if (kind === 2) {
        // Lying lengths / times: three 0xff-ish bytes dropped where a length or timestamp may sit.
        const p = Math.floor(rand() * (len - 3));
        work[p] = 0xff;
        work[p + 1] = Math.floor(rand() * 256);
        work[p + 2] = 0xff;
      } else if (kind === 3) {
        const p = Math.floor(rand() * len);
        for (let k = p; k < Math.min(len, p + 32); k++) work[k] = Math.floor(rand() * 256);
      } else {
        len = Math.floor(rand() * 200);
        for (let k = 0; k < len; k++) work[k] = Math.floor(rand() * 256);
      }
      const r = new ChunkReader(() => void messages++, LIMITS);
      try {
        // Random splits: the parser must not care where the socket cut the bytes.
        for (let pos = 0; pos < len; ) {
          const step = 1 + Math.floor(rand() * 64);
          r.push(work.subarray(pos, Math.min(len, pos + step)));
          pos += step;
        }
      } catch (err) {
        if (!(err instanceof RtmpProtocolError)) throw err;
        refused++;
      }
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  return { messages, refused, ms: performance.now() - started };
}

for (const [half, seedValue] of [[1, 0xc4a11], [2, 0x5eed2]] as const) {
  test(`chunk reader fuzz, half ${half}: 500,000 mutated chunk streams, only RtmpProtocolError`, () => {
    const N = 500_000;
    const { messages, refused, ms } = fuzz(seedValue, N);
    console.log(`chunk reader fuzz ${half}/2: ${N} inputs, ${messages} messages delivered, ${refused} refused, ${ms.toFixed(0)} ms`);
    assert.ok(refused > 0 && messages > N, 'both valid messages and refusals happened');
  });
}
