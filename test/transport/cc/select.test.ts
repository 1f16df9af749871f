import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from '../Pair.js';
import { DelayLossController } from '../../../src/transport/cc/DelayLossController.js';

const controllerOf = (p: Pair) => p.client.stats().paths.map((x) => x.controller);

test("the session option cc picks each path's controller; the default is the delay/loss one", () => {
  const byDefault = new Pair({ seed: 3 });
  byDefault.connect();
  assert.deepEqual(controllerOf(byDefault), ['delay-loss']);

  const capacity = new Pair({ seed: 3, client: { cc: 'capacity' } });
  capacity.connect();
  assert.deepEqual(controllerOf(capacity), ['capacity']);
  // It carries media like the default one does.
  const v = capacity.client.openStream(capacity.now, { class: 'video', reliability: 'deadline', priority: 2 });
  for (let i = 0; i < 30; i++) {
    assert.ok(capacity.client.send(capacity.now, v, new Uint8Array(2000), { deadline: capacity.now + 1000 }));
    capacity.run(capacity.now + 33);
  }
  capacity.run(capacity.now + 1000);
  assert.ok(capacity.client.stats().bytesSent > 60_000);
});

test('a congestion factory overrides cc', () => {
  const p = new Pair({ seed: 3, client: { cc: 'capacity', congestion: () => new DelayLossController({}) } });
  p.connect();
  assert.deepEqual(controllerOf(p), ['delay-loss']);
});
