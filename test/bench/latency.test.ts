import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLatency, formatLatency } from '../../src/bench/latency/run.js';

test('bench latency: ffmpeg -> RTMP -> server -> hls.js in Chromium (LL and plain) and HTTP-FLV joins, with sane readings', { timeout: 120_000 }, async () => {
  const results = await runLatency({ duration: 3, gop: 1, json: false });
  console.log(formatLatency(results));
  assert.deepEqual(results.map((r) => r.client), ['hls.js-ll', 'hls.js-plain', 'http-flv-join']);
  const [ll, plain, join] = results as [typeof results[0], typeof results[0], typeof results[0]];
  assert.ok(ll.samples >= 4 && ll.errors.length === 0, JSON.stringify(ll));
  assert.ok(ll.p50 > 0.1 && ll.p50 < 4, `LL-HLS latency ${ll.p50} s`);
  assert.ok(plain.p50 > 0.1 && plain.p50 < 10 && plain.errors.length === 0, JSON.stringify(plain));
  assert.ok(join.samples === 10 && join.p50 > 0 && join.p50 < 1000, JSON.stringify(join));
});
