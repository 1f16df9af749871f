/** The CIDR-to-region table (cluster.addressRegions): longest prefix, both families, mapped IPv4, bad entries named. */
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AddressRegions, parseAddress, parseCidr } from '../../src/cluster/addressRegions.js';
import { ConfigError, loadConfig } from '../../src/node/config.js';

test('the longest matching prefix gives the region, in either family; no match or no address gives none', () => {
  const t = new AddressRegions([
    { cidr: '10.0.0.0/8', region: 'eu' },
    { cidr: '10.20.0.0/16', region: 'eu-isp-a' },
    { cidr: '10.20.30.0/24', region: 'us' },
    { cidr: '0.0.0.0/0', region: 'default-v4' },
    { cidr: '2001:db8::/32', region: 'asia' },
    { cidr: '2001:db8:1::/48', region: 'asia-isp-b' },
  ]);
  assert.equal(t.size, 6);
  assert.equal(t.regionOf('10.1.2.3'), 'eu');
  assert.equal(t.regionOf('10.20.1.1'), 'eu-isp-a');
  assert.equal(t.regionOf('10.20.30.40'), 'us');
  assert.equal(t.regionOf('192.0.2.1'), 'default-v4');
  assert.equal(t.regionOf('::ffff:10.20.30.40'), 'us', 'an IPv4-mapped address is matched as IPv4');
  assert.equal(t.regionOf('2001:db8:5::1'), 'asia');
  assert.equal(t.regionOf('2001:db8:1:ffff::1'), 'asia-isp-b');
  assert.equal(t.regionOf('2001:0db8:0001:0000:0000:0000:0000:0001'), 'asia-isp-b');
  assert.equal(t.regionOf('fe80::1%eth0'), undefined, 'an IPv6 address no entry holds');
  assert.equal(t.regionOf(undefined), undefined);
  assert.equal(t.regionOf('not an address'), undefined);
  assert.equal(new AddressRegions([]).regionOf('10.0.0.1'), undefined);
});

test('the first entry for a prefix wins; host bits past the length are ignored', () => {
  const t = new AddressRegions([
    { cidr: '192.0.2.77/24', region: 'first' },
    { cidr: '192.0.2.0/24', region: 'second' },
  ]);
  assert.equal(t.size, 1);
  assert.equal(t.regionOf('192.0.2.200'), 'first');
});

test('addresses and CIDRs parse to the same numbers in every IPv6 spelling', () => {
  assert.equal(parseAddress('::1')!.value, 1n);
  assert.equal(parseAddress('::')!.value, 0n);
  assert.equal(parseAddress('1::')!.value, 1n << 112n);
  assert.deepEqual(parseAddress('::ffff:1.2.3.4'), { family: 4, value: 0x01020304n });
  assert.equal(parseAddress('64:ff9b::1.2.3.4')!.value, (0x64n << 112n) | (0xff9bn << 96n) | 0x01020304n);
  assert.deepEqual(parseCidr('::ffff:10.0.0.0/104'), { family: 4, prefix: 0x0a000000n, length: 8 });
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0/8', '2001:db8::/129', 'eu/8', '10.0.0.0/-1', '10.0.0.0/ 8', '::ffff:10.0.0.0/95']) assert.equal(parseCidr(bad), undefined, bad);
});

test('a node config with a bad table entry is refused with the entry named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-regions-'));
  const file = join(dir, 'c.json');
  const flags = { 'cluster.etcd': 'etcd://127.0.0.1:2379', 'cluster.nodeId': 'n1' };
  const env = { TRIBUTARY_CLUSTER_SECRET: 'a-cluster-secret-of-some-length' };
  writeFileSync(file, JSON.stringify({ cluster: { addressRegions: [{ cidr: '10.0.0.0/8', region: 'eu' }, { cidr: '10.0.0.0/40', region: 'us' }] } }));
  assert.throws(() => loadConfig(flags, file, env), (e: unknown) => e instanceof ConfigError && /cluster\.addressRegions\.1\.cidr/.test(e.message));
  writeFileSync(file, JSON.stringify({ cluster: { addressRegions: [{ cidr: '10.0.0.0/8', region: '../x' }] } }));
  assert.throws(() => loadConfig(flags, file, env), (e: unknown) => e instanceof ConfigError && /cluster\.addressRegions\.0\.region/.test(e.message));
  writeFileSync(file, JSON.stringify({ cluster: { addressRegions: [{ cidr: '10.0.0.0/8', region: 'eu' }] } }));
  assert.deepEqual(loadConfig(flags, file, env).cluster!.addressRegions, [{ cidr: '10.0.0.0/8', region: 'eu' }]);
});
