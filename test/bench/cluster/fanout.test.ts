import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fanout } from '../../../src/bench/cluster/fanout.js';

test('bench cluster fanout: the edge serves its viewers over a relay from the origin, the single node the same crowd, etcd traffic read from etcd', { timeout: 150_000 }, async () => {
  const d = await fanout({ viewers: 5, bitrateMbps: 1, durationS: 2, seed: 3 });
  const r = d.result;
  assert.deepEqual(Object.keys(r), ['scenario', 'viewers', 'edgeCpu', 'singleCpu', 'cpuPerViewerRatio', 'viewersOk', 'etcdOpsPerStreamPerS']);
  assert.equal(r.viewers, 5);
  assert.equal(d.relay?.owner, 'origin', 'the edge relayed the stream from the origin');
  for (const [name, x] of [['edge', d.edge], ['single', d.single]] as const) {
    assert.equal(x.viewerErrors, 0, `${name}: ${JSON.stringify(x.errorKinds)}`);
    assert.ok(x.deliveredRatio >= 0.9, `${name}: delivered ${x.deliveredRatio}`);
    assert.ok(x.serverCpuPct > 0, `${name}: the server's CPU was read`);
  }
  // The nodes keep leases and records alive every second: some traffic, none of it per viewer.
  assert.ok(r.etcdOpsPerStreamPerS > 0 && r.etcdOpsPerStreamPerS < 50, `etcd ${r.etcdOpsPerStreamPerS}/s`);
});
