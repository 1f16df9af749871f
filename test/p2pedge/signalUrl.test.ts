import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signalUrl } from '../../src/client/p2p/P2pPeer.js';

test('play --p2p URLs: the edge signalling address, or why not', () => {
  assert.deepEqual(signalUrl('http://127.0.0.1:8080/live/cam'), { ws: 'ws://127.0.0.1:8080/p2p/live/cam', loopback: true });
  assert.deepEqual(signalUrl('https://edge.example/live/cam?token=a b'), { ws: 'wss://edge.example/p2p/live/cam?token=a%20b', loopback: false });
  assert.equal(signalUrl('tributary://h/live/cam'), 'use http://HOST[:PORT]/APP/KEY');
  assert.equal(signalUrl('http://h/live'), 'the path must be /APP/KEY');
  assert.equal(signalUrl('http://h/a/b/c'), 'the path must be /APP/KEY');
  assert.equal(signalUrl('::'), 'not a URL');
});
