import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchBond } from '../../src/bench/bond/run.js';
import { BOND_DEFAULTS } from '../../src/bench/bond/Options.js';
import { outagesOf, parseEvents } from '../../src/bench/bond/Options.js';

test('bench bond: a short virtual run reports the bonded run and the best single link with the issue\'s fields', async () => {
  const [bonded, single] = await benchBond({ ...BOND_DEFAULTS, rate: '1,1,1', rtt: '100,150,200', loss: '1', bitrate: 1.5, latency: 800, duration: 10, kill: ['0@5'] });
  assert.ok(bonded && single);
  assert.equal(bonded.mode, 'aggregate');
  assert.equal(single.mode, 'single');
  assert.equal(bonded.share.length, 3);
  assert.ok(Math.abs(bonded.share.reduce((a, b) => a + b, 0) - 1) < 0.01, `shares sum to 1: ${bonded.share}`);
  assert.ok(bonded.share.every((s) => s > 0.05), `every link used: ${bonded.share}`);
  assert.ok(bonded.pathsDowned >= 1, 'the killed link was taken down');
  for (const r of [bonded, single]) {
    for (const k of ['audio', 'video'] as const) assert.ok(r[k].onTimeRatio >= 0 && r[k].onTimeRatio <= 1 && r.oracle[k].onTimeRatio > 0);
    assert.ok(r.maxExcessStallMs >= 0 && typeof r.duplicateOverhead === 'number');
  }
  // 1.5 Mbit/s does not fit one 1 Mbit/s link: the bond must beat the best single link.
  assert.ok(bonded.video.onTimeRatio > single.video.onTimeRatio, `bonded ${bonded.video.onTimeRatio} vs single ${single.video.onTimeRatio}`);
});

test('bench bond: --kill/--revive lists become link outages; bad specs are refused', () => {
  const o = { ...BOND_DEFAULTS, links: 3, kill: ['0@120', '2@10'], revive: ['0@150'] };
  assert.deepEqual(outagesOf(parseEvents(o), 3), [[[120_000, 150_000]], [], [[10_000, Infinity]]]);
  assert.throws(() => parseEvents({ ...o, kill: ['5@1'] }), /no link 5/);
  assert.throws(() => parseEvents({ ...o, kill: ['x'] }), /LINK@SECONDS/);
});
