import { test } from 'node:test';
import assert from 'node:assert/strict';
import { route } from '../../../src/server/http/routes.js';

test('paths map to the documented routes', () => {
  assert.deepEqual(route('/live/k.flv'), { kind: 'flv', app: 'live', key: 'k' });
  assert.deepEqual(route('/other/k.flv'), { kind: 'flv', app: 'other', key: 'k' });
  assert.deepEqual(route('/live/k/index.m3u8'), { kind: 'hls', app: 'live', key: 'k', file: 'index.m3u8' });
  assert.deepEqual(route('/api/streams'), { kind: 'api-streams' });
  assert.deepEqual(route('/api/streams/live/k'), { kind: 'api-stream', app: 'live', key: 'k' });
  assert.deepEqual(route('/play/live/k'), { kind: 'play-page', app: 'live', key: 'k' });
  assert.deepEqual(route('/'), { kind: 'page', file: 'index.html' });
  assert.deepEqual(route('/web/player.js'), { kind: 'page', file: 'player.js' });
  assert.deepEqual(route('/lib/mpegts.js'), { kind: 'lib', file: 'mpegts.js' });
  assert.deepEqual(route('/lib/hls.min.js'), { kind: 'lib', file: 'hls.min.js' });
  assert.deepEqual(route('/metrics'), { kind: 'metrics' });
  assert.deepEqual(route('/healthz'), { kind: 'healthz' });
});

test('anything else, traversal and odd names included, is not found', () => {
  for (const p of ['/web/../package.json', '/web/secret.txt', '/lib/x.js', '/live/.flv', '/live/%2e%2e.flv', '/a/b/c/d', '/live/k k.flv',
    '/x'.repeat(300), '/api/streams/live', '/api/x.flv', '/play/live', '/live/k/../../etc']) {
    assert.equal(route(p).kind, 'not-found', p);
  }
});
