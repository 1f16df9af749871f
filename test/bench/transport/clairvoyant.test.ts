import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchTransport } from '../../../src/bench/transport/benchTransport.js';
import { DEFAULTS } from '../../../src/bench/transport/Options.js';

const base = { ...DEFAULTS, trace: 'Verizon-LTE-short.up', rtt: 100, loss: 0, latency: 800, duration: 20, bitrate: 8, adaptive: true };

test('--clairvoyant: the encoder gets a share of the capacity to come, so a larger share carries more', async () => {
  const [low] = await benchTransport({ ...base, clairvoyant: 0.3 });
  const [high] = await benchTransport({ ...base, clairvoyant: 0.6 });
  // The media rate is set by the trace, not by the controller: close to the share of the capacity.
  assert.ok(low!.capacityUsed! > 0.1 && low!.capacityUsed! < 0.3, JSON.stringify(low));
  assert.ok(high!.capacityUsed! > 1.5 * low!.capacityUsed!, `${high!.capacityUsed} vs ${low!.capacityUsed}`);
});

test('--clairvoyant needs an adaptive source on a trace, in virtual time', async () => {
  await assert.rejects(benchTransport({ ...base, adaptive: false, clairvoyant: 0.5 }), /--clairvoyant/);
  await assert.rejects(benchTransport({ ...base, trace: undefined, rate: 2, clairvoyant: 0.5 }), /--clairvoyant/);
});
