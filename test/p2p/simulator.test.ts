import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { runP2p } from '../../src/bench/p2p/run.js';

const small = { peers: 120, bitrate: 1, scenario: 'steady' as const, duration: 40, seed: 5, meanStay: 300, warmup: 15 };

test('a small swarm with churn shares most of the stream and plays it on time, the same way for the same seed', () => {
  const a = runP2p(small);
  const r = a.result;
  assert.ok(r.continuity >= 0.99, `continuity ${r.continuity}`);
  assert.ok(r.edgeShare < 0.5, `edgeShare ${r.edgeShare}: peers carry most of it`);
  assert.ok(r.delayMs.p50 <= 1000 && r.delayMs.max <= 2000 + 1, `delay ${JSON.stringify(r.delayMs)}`);
  assert.ok(r.startupMs.p95 > 0 && r.startupMs.p95 <= 1500, `startup ${JSON.stringify(r.startupMs)}`);
  assert.ok(r.controlOverhead > 0 && r.controlOverhead < 0.05, `controlOverhead ${r.controlOverhead}`);
  const b = runP2p(small);
  assert.deepEqual(b.result, r, 'same seed, same run');
  const c = runP2p({ ...small, seed: 6 });
  assert.notDeepEqual(c.result, r, 'another seed, another run');
});

test('tributary bench p2p --json prints the table and one JSON line with exactly the issue\'s fields', () => {
  const out = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', 'p2p', '--peers', '60', '--duration', '20', '--warmup', '8', '--scenario', 'flash', '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(out.status, 0, out.stderr);
  const lines = out.stdout.trim().split('\n');
  const json = JSON.parse(lines[lines.length - 1]!);
  assert.deepEqual(Object.keys(json), ['mode', 'scenario', 'peers', 'edgeShare', 'continuity', 'delayMs', 'startupMs', 'controlOverhead', 'compensationShare']);
  assert.deepEqual(Object.keys(json.delayMs), ['p50', 'p99', 'max']);
  assert.deepEqual(Object.keys(json.startupMs), ['p50', 'p95']);
  assert.equal(json.mode, 'sim');
  assert.equal(json.scenario, 'flash');
  for (const k of ['edgeShare', 'continuity', 'controlOverhead', 'compensationShare']) assert.ok(json[k] >= 0 && json[k] <= 1, `${k} is a fraction: ${json[k]}`);
  assert.match(out.stdout, /continuity during the crowd/);
});
