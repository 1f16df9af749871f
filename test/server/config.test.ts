import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/server/config.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('the embedded defaults are the documented ports', () => {
  const c = parseConfig({});
  assert.equal(c.rtmpPort, 1935);
  assert.equal(c.httpPort, 8080);
  assert.equal(c.transportPort, 9000);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.auth.publish, false);
  assert.equal(c.viewer.cutBytes, 8 << 20);
});

test('flags override the file and strings from the command line become numbers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-config-'));
  try {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ rtmpPort: 1000, httpPort: 2000, auth: { secret: 'x'.repeat(20), play: true } }));
    const c = loadConfig({ httpPort: '3000', rtmpPort: undefined }, file);
    assert.equal(c.rtmpPort, 1000);
    assert.equal(c.httpPort, 3000);
    assert.equal(c.auth.play, true);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('invalid values are refused naming the field and the reason', () => {
  assert.deepEqual(problems(() => parseConfig({ rtmpPort: 70000 })).map((p) => p.split(':')[0]), ['rtmpPort']);
  assert.match(problems(() => parseConfig({ httpPort: 'abc' }))[0]!, /^httpPort: .*number/);
  assert.match(problems(() => parseConfig({ auth: { play: true } }))[0]!, /^auth\.secret: required when/);
  assert.match(problems(() => parseConfig({ auth: { secret: 'short' } }))[0]!, /^auth\.secret: must be at least 16/);
  assert.match(problems(() => parseConfig({ http: { maxConections: 5 } }))[0]!, /^http: .*maxConections/);
  assert.match(problems(() => parseConfig({ viewer: { skipBytes: 9000, cutBytes: 5000 } }))[0]!, /^viewer\.cutBytes: cutBytes must be greater/);
});

test('a broken config file is reported with its name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-config-'));
  try {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ "rtmpPort": ');
    assert.match(problems(() => loadConfig({}, file))[0]!, /bad\.json: not valid JSON/);
    writeFileSync(file, '[1]');
    assert.match(problems(() => loadConfig({}, file))[0]!, /must hold a JSON object/);
    assert.match(problems(() => loadConfig({}, join(dir, 'missing.json')))[0]!, /missing\.json: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
