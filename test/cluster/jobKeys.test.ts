/** Cluster jobs' pure parts: the placement order, and what is accepted back from etcd (hostile values are refused, never thrown). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeSpec, jobIdOf, MAX_SPEC_BYTES, parseOwner, parseSpec } from '../../src/cluster/jobs/jobKeys.js';
import { rankNodes } from '../../src/cluster/jobs/rank.js';
import type { NodeRecord } from '../../src/cluster/keys.js';
import { TranscodeSpec } from '../../src/processing/JobSpec.js';

const node = (id: string, cpu: number, viewers = 0, streams = 0): NodeRecord => ({ id, region: 'r', host: '127.0.0.1', httpPort: 1, transportPort: 2, fp: 'f', load: { cpu, egressMbps: 0, viewers, streams }, carrying: [] });

test('rankNodes: fewest jobs, then CPU in tenths of a core, then viewers and streams, then id; full nodes left out', () => {
  const jobs: Record<string, number> = { a: 1, b: 0, c: 0, d: 0, e: 4 };
  const ranked = rankNodes([node('a', 0), node('b', 0.35), node('c', 0.31, 5), node('d', 0.33, 1, 1), node('e', 0)], (n) => jobs[n] ?? 0, 4);
  // b, c, d share 0.3 cores; d has 2 viewers+streams, c 5, b none; a runs a job; e is full.
  assert.deepEqual(ranked.map((n) => n.id), ['b', 'd', 'c', 'a']);
  assert.deepEqual(rankNodes([node('y', 0.01), node('x', 0.02)], () => 0, 4).map((n) => n.id), ['x', 'y'], 'a tie goes by id');
  // A record with nonsense figures (another writer) counts them as 0, never NaN ordering.
  const odd = { ...node('z', 0), load: { cpu: 'lots', viewers: -1, streams: Infinity } } as unknown as NodeRecord;
  assert.deepEqual(rankNodes([node('a', 0.5), odd], () => 0, 4).map((n) => n.id), ['z', 'a']);
});

test('specs read from etcd: a good one round-trips; garbage, oversized or invalid ones are undefined', () => {
  const spec = TranscodeSpec.parse({ input: { stream: 'live/cam' }, outputs: [{ stream: 'live/low', height: 90, kbps: 150 }] });
  const back = parseSpec(Buffer.from(encodeSpec({ kind: 'transcode', spec }, 'n1')));
  assert.equal(back?.kind, 'transcode');
  assert.deepEqual(back?.spec, spec);
  assert.equal(back?.by, 'n1');
  for (const v of ['', 'null', '{}', '[1]', '{"v":1,"kind":"transcode","spec":{"input":{"url":"pipe:0"},"outputs":[]},"by":"x","at":"y"}', '{"v":2,"kind":"mix"}']) {
    assert.equal(parseSpec(Buffer.from(v)), undefined, v);
  }
  const padded = encodeSpec({ kind: 'transcode', spec }, 'n'.repeat(MAX_SPEC_BYTES));
  assert.equal(parseSpec(Buffer.from(padded)), undefined, 'too large');
  assert.equal(parseOwner(Buffer.from('{"node":"a","state":"running","reason":null}'))?.node, 'a');
  assert.equal(parseOwner(Buffer.from('{"node":"a","state":"dancing","reason":null}')), undefined);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
    parseSpec(Buffer.from(bytes));
    parseOwner(Buffer.from(bytes));
  }));
  assert.deepEqual(jobIdOf('tributary/jobs/spec/t1'), { id: 't1', part: 'spec' });
  assert.deepEqual(jobIdOf('tributary/jobs/owner/t1'), { id: 't1', part: 'owner' });
  for (const k of ['tributary/jobs/spec/', 'tributary/jobs/spec/a/b', 'tributary/jobs/other/t1', `tributary/jobs/spec/${'x'.repeat(65)}`]) assert.equal(jobIdOf(k), undefined, k);
});
