import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatE2eEncode, runE2eEncode } from '../../../src/bench/e2e/encodeRun.js';
import { requireBinary } from '../../media/mp4/source.js';

test('bench e2e --encode on a clean 4 Mbit/s link: the real encoder\'s pictures are decoded by the viewer\'s ffmpeg, with the JSON fields the issue names', { timeout: 90_000 }, async () => {
  requireBinary('ffmpeg');
  const r = await runE2eEncode({ rate: 4, rtt: 40, jitter: 0, loss: 0, burst: 1, latency: 1000, duration: 8, seed: 1, traceOffset: 0 });
  console.log(formatE2eEncode(r));
  for (const k of ['decodedRatio', 'latencyMs', 'mediaKbps', 'capacityKbps', 'maxStallMs']) assert.ok(k in r, k);
  assert.deepEqual(Object.keys(r.latencyMs).sort(), ['max', 'p50', 'p95', 'p99']);
  assert.ok(r.framesEncoded >= 200 && r.framesEncoded <= 260, `${r.framesEncoded} pictures encoded in 8 s at 30 fps`);
  // A clean link carries every picture, as long as the lowest rung fits under the transport's
  // pacing at its floor (with a 200 kbit/s lowest rung: 0.89-0.93, the sender dropping the rest).
  assert.ok(r.decodedRatio >= 0.95, `decoded ${r.decodedRatio}`);
  assert.equal(r.senderDropped, 0);
  assert.equal(r.decodeErrors, 0, `the viewer's decoder: ${r.decodeErrorLines.join(' | ')}`);
  assert.equal(r.capacityKbps, 4000);
  assert.ok(r.latencyMs.p50 > 20 && r.latencyMs.p50 < 600, `capture to decode p50 ${r.latencyMs.p50} ms over a 40 ms RTT`);
  assert.ok(r.maxStallMs < 1000, `longest gap ${r.maxStallMs} ms`);
  assert.ok(r.mediaKbps > 150 && r.mediaKbps < 4000, `media ${r.mediaKbps} kbit/s`);
});
