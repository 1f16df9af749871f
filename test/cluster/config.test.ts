/** `serve --cluster ...` settings: what a node needs, and that without them nothing changes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/node/config.js';
import { etcdHosts } from '../../src/cluster/keys.js';
import { parseRelayIdentity, relayIdentity, relayPsk, tokenOfWelcome } from '../../src/cluster/relayAuth.js';

const SECRET = { TRIBUTARY_CLUSTER_SECRET: 'a-cluster-secret-of-some-length' };

test('without --cluster there is no cluster section', () => {
  assert.equal(loadConfig({}).cluster, undefined);
});

test('--cluster, --node-id, --region and the secret from the environment make a cluster node', () => {
  const c = loadConfig({ 'cluster.etcd': 'etcd://127.0.0.1:2379,10.0.0.2:2379', 'cluster.nodeId': 'eu-1', 'cluster.region': 'eu', 'cluster.upstream': 'eu-0@10.0.0.9:9000' }, undefined, SECRET).cluster!;
  assert.equal(c.nodeId, 'eu-1');
  assert.equal(c.region, 'eu');
  assert.equal(c.upstream, 'eu-0@10.0.0.9:9000');
  assert.deepEqual(etcdHosts(c.etcd), ['http://127.0.0.1:2379', 'http://10.0.0.2:2379']);
});

test('a cluster node without a secret, a node id, or with a bad etcd URL is refused with the field named', () => {
  assert.throws(() => loadConfig({ 'cluster.etcd': 'etcd://127.0.0.1:2379', 'cluster.nodeId': 'n1' }), (e: unknown) => e instanceof ConfigError && /cluster\.secret/.test(e.message));
  assert.throws(() => loadConfig({ 'cluster.etcd': 'etcd://127.0.0.1:2379' }, undefined, SECRET), (e: unknown) => e instanceof ConfigError && /cluster\.nodeId/.test(e.message));
  assert.throws(() => loadConfig({ 'cluster.etcd': 'http://127.0.0.1:2379', 'cluster.nodeId': 'n1' }, undefined, SECRET), (e: unknown) => e instanceof ConfigError && /cluster\.etcd/.test(e.message));
  assert.throws(() => loadConfig({ 'cluster.etcd': 'etcd://127.0.0.1:2379', 'cluster.nodeId': '../x' }, undefined, SECRET), (e: unknown) => e instanceof ConfigError && /cluster\.nodeId/.test(e.message));
});

test('relay identities: only well-formed ones parse; the key depends on the secret and the identity', () => {
  const id = relayIdentity('live', 'cam', 'edge-1');
  assert.deepEqual(parseRelayIdentity(id), { app: 'live', key: 'cam', node: 'edge-1' });
  for (const bad of ['relay live/cam', 'relay live/cam edge 1', 'play live/cam', 'relay ../cam n', `relay live/cam ${'x'.repeat(129)}`]) assert.equal(parseRelayIdentity(bad), undefined, bad);
  assert.notEqual(relayPsk('secret-one-0123456', id), relayPsk('secret-two-0123456', id));
  assert.notEqual(relayPsk('secret-one-0123456', id), relayPsk('secret-one-0123456', relayIdentity('live', 'cam', 'edge-2')));
  assert.equal(tokenOfWelcome('relaying live/cam token=42'), 42);
  assert.equal(tokenOfWelcome('playing live/cam'), undefined);
});
