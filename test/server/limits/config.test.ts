import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../../src/server/config.js';

test('limits: defaults (512 MiB budget, 128 MiB per address, 64 connections per address, loopback exempt) and field-named errors', () => {
  const c = parseConfig({});
  assert.deepEqual(c.limits, { memoryBudgetBytes: 512 << 20, memoryPerAddressBytes: 128 << 20, maxConnectionsPerAddress: 64, exemptAddresses: ['127.0.0.1', '::1'] });
  assert.equal(parseConfig({ limits: { maxConnectionsPerAddress: 4, exemptAddresses: [] } }).limits.maxConnectionsPerAddress, 4);
  const bad = (limits: unknown, field: RegExp): void => {
    assert.throws(() => parseConfig({ limits }), (e: unknown) => e instanceof ConfigError && field.test(e.message), JSON.stringify(limits));
  };
  bad({ maxConnectionsPerAddress: '64' }, /limits\.maxConnectionsPerAddress/);
  bad({ maxConnectionsPerAddress: 0 }, /limits\.maxConnectionsPerAddress/);
  bad({ memoryBudgetBytes: 1000 }, /limits\.memoryBudgetBytes/);
  bad({ memoryBudgetBytes: 64 << 20, memoryPerAddressBytes: 128 << 20 }, /limits\.memoryPerAddressBytes: memoryPerAddressBytes must not exceed memoryBudgetBytes/);
  bad({ exemptAddresses: '127.0.0.1' }, /limits\.exemptAddresses/);
  bad({ budget: 1 }, /limits/);
});
