import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { claimDir, recordingDir, safeSegment, templateProblem, templateRoot } from '../../src/recording/pathTemplate.js';
import { parseConfig, ConfigError } from '../../src/node/config.js';
import fc from 'fast-check';
import { Registry } from '../../src/server/Registry.js';
import { Recorder } from '../../src/recording/Recorder.js';
import type { Publisher } from '../../src/server/Publisher.js';

const HOSTILE = ['..', '.', '../../etc/passwd', '/etc', '.hidden', 'a/../../b', '..\\..\\win', '', 'x'.repeat(500), 'nul\0byte', 'ünï cødé', '~', '...'];
const day = new Date('2026-12-02T03:04:05Z');

test('hostile app and key names become one plain path segment each, inside the template root', () => {
  const template = '/srv/rec/{app}/{key}/{date}-{time}';
  for (const app of HOSTILE) {
    for (const key of HOSTILE) {
      const dir = recordingDir(template, app, key, day);
      const rel = relative('/srv/rec', dir);
      assert.ok(!rel.startsWith('..') && !rel.startsWith('/'), `${JSON.stringify([app, key])} -> ${dir}`);
      const parts = rel.split('/');
      assert.equal(parts.length, 3, `${JSON.stringify([app, key])} -> ${dir}`);
      assert.equal(parts[2], '2026-12-02-030405');
      for (const p of parts) assert.ok(!p.startsWith('.') && p.length > 0 && p.length <= 129, `segment ${JSON.stringify(p)}`);
    }
  }
  assert.equal(safeSegment('live'), 'live');
  assert.equal(safeSegment('..'), '_..');
  assert.equal(safeSegment('a/b'), 'a_b');
  assert.equal(templateRoot('recordings/{app}/{key}'), resolve('recordings'));
  assert.equal(templateRoot('{app}/{key}'), resolve('.'));
});

test('the config refuses templates that climb out, name unknown placeholders or cannot tell streams apart', () => {
  for (const bad of ['../x/{key}', 'rec/{app}/../{key}', 'rec/{app}', 'rec/{user}/{key}', '']) {
    assert.ok(templateProblem(bad), bad);
    assert.throws(() => parseConfig({ apps: { live: { record: { path: bad } } } }), ConfigError, bad);
  }
  const c = parseConfig({ apps: { a: { record: true }, b: { record: { segmentSeconds: 10 } }, c: { record: false } } });
  assert.deepEqual(c.apps.a!.record, { enabled: true, path: 'recordings/{app}/{key}/{date}', segmentSeconds: 4, queueBytes: 32 << 20, replicas: 1 });
  assert.equal(c.apps.b!.record!.enabled, true);
  assert.equal(c.apps.b!.record!.segmentSeconds, 10);
  assert.equal(c.apps.c!.record!.enabled, false);
  assert.throws(() => parseConfig({ apps: { a: { record: { segmentSeconds: 0 } } } }), ConfigError);
  assert.throws(() => parseConfig({ apps: { a: { record: { enabled: true, extra: 1 } } } }), ConfigError);
});

test('a stream named .. is recorded inside the template root, and a second recording of a key the same day gets its own directory', async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-path-'));
  try {
    const registry = new Registry({ publisherGraceMs: 0 });
    const recorder = new Recorder(registry, { settings: () => ({ enabled: true, path: join(root, 'rec/{app}/{key}/{date}'), segmentSeconds: 2, queueBytes: 1 << 20, replicas: 1 }) });
    const publisher = (id: string): Publisher => ({ id, protocol: 'rtmp', remoteAddress: 'test', close() {} });
    for (const name of ['..', '..']) {
      const stream = registry.app(name).stream(name);
      stream.publish(publisher(name));
      const rec = recorder.active.get(stream);
      assert.ok(rec);
      stream.close('done');
      await rec.finished;
    }
    assert.deepEqual(readdirSync(root), ['rec'], 'nothing written beside the root');
    const dirs = readdirSync(join(root, 'rec/_../_..'));
    assert.equal(dirs.length, 2, dirs.join(' '));
    for (const d of dirs) assert.ok(existsSync(join(root, 'rec/_../_..', d, 'index.jsonl')));
    assert.equal(claimDir('/x', (d) => d !== '/x' && d !== '/x_2'), '/x_3');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('any app and key text (fast-check) fills a template to a directory inside its root', () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), fc.constantFrom('/srv/rec/{app}/{key}', 'rec/{key}/{app}/{date}', '/a/{app}-{key}/{node}'), fc.string({ maxLength: 40 }), (app, key, template, node) => {
    const dir = recordingDir(template, app, key, day, node);
    const rel = relative(templateRoot(template), dir);
    return rel !== '' && !rel.startsWith('..') && !rel.startsWith('/') && rel.split('/').every((p) => p.length > 0 && !p.startsWith('.'));
  }), { numRuns: 2000 });
});

test('streams published by processing jobs are not recorded (not originals)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-derived-'));
  try {
    const registry = new Registry({ publisherGraceMs: 0 });
    const recorder = new Recorder(registry, { settings: () => ({ enabled: true, path: join(root, '{app}/{key}'), segmentSeconds: 2, queueBytes: 1 << 20, replicas: 1 }) });
    const job = registry.app('live').stream('cam_720p');
    job.publish({ id: 'j', protocol: 'job', remoteAddress: 'ffmpeg', close() {} });
    const cam = registry.app('live').stream('cam');
    cam.publish({ id: 'r', protocol: 'rtmp', remoteAddress: 'test', close() {} });
    assert.deepEqual([...recorder.active.keys()].map((s) => s.key), ['cam']);
    registry.close();
    await recorder.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
