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

test('mutated paths never throw and never route outside the name alphabet', () => {
  const seeds = ['/live/k.flv', '/live/k/index.m3u8', '/api/streams/live/k', '/play/live/k', '/lib/mpegts.js', '/web/player.js', '/metrics'];
  const alphabet = '/.%?#\\\0 ~-_aZ9\u00e9\ud83d';
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const safe = /^[A-Za-z0-9_.\-~]{1,128}$/;
  let n = 0;
  for (; n < 200_000; n++) {
    const chars = [...seeds[rand(seeds.length)]!];
    const edits = 1 + rand(4);
    for (let e = 0; e < edits; e++) {
      const op = rand(4);
      const at = rand(chars.length + 1);
      if (op === 0) chars.splice(at, 1);
      else if (op === 1) chars.splice(at, 0, alphabet[rand(alphabet.length)]!);
      else if (op === 2) chars[at % chars.length] = String.fromCharCode(rand(128));
      else chars.splice(at, 0, ...chars.slice(0, rand(chars.length)));
    }
    const r = route(chars.join(''));
    for (const name of ['app', 'key'] as const) {
      if (name in r) {
        const v = (r as Record<string, string>)[name]!;
        assert.ok(safe.test(v) && v !== '.' && v !== '..', `${chars.join('')} -> ${name} ${v}`);
      }
    }
  }
  console.log(`routes: ${n} mutated paths routed without a throw`);
});
