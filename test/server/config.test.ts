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

test('JSON values never change type: true, null, "", [] and "1935" for a number are refused', () => {
  // The cases issue 10 found: each started a server (port 1, a random port, a 1 ms timeout).
  for (const bad of [true, false, null, '', [], '1935', {}]) {
    for (const field of ['httpPort', 'rtmpPort', 'transportPort']) {
      const p = problems(() => parseConfig({ [field]: bad }));
      assert.equal(p.length, 1, `${field}=${JSON.stringify(bad)}: ${p.join('; ')}`);
      assert.match(p[0]!, new RegExp(`^${field}: .*expected number`), `${field}=${JSON.stringify(bad)}`);
    }
  }
  assert.match(problems(() => parseConfig({ http: { headersTimeoutMs: true } }))[0]!, /^http\.headersTimeoutMs: .*expected number, received boolean/);
  assert.match(problems(() => parseConfig({ auth: { publish: 'yes' } }))[0]!, /^auth\.publish: .*expected boolean/);
  assert.match(problems(() => parseConfig({ host: 1 }))[0]!, /^host: .*expected string/);
});

test('every numeric setting refuses a boolean, null, an empty string and an array, by name', () => {
  // Walks the defaults, so a field added later with z.coerce fails here too.
  const numeric: string[][] = [];
  const walk = (v: unknown, path: string[]): void => {
    if (typeof v === 'number') numeric.push(path);
    else if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(parseConfig({}), []);
  assert.ok(numeric.length >= 10, `found ${numeric.length} numeric settings`);
  for (const path of numeric) {
    for (const bad of [true, null, '', []]) {
      const input: Record<string, unknown> = {};
      let node = input;
      for (const k of path.slice(0, -1)) node = (node[k] = {}) as Record<string, unknown>;
      node[path[path.length - 1]!] = bad;
      const p = problems(() => parseConfig(input));
      assert.ok(p.some((x) => x.startsWith(`${path.join('.')}: `)), `${path.join('.')}=${JSON.stringify(bad)} gave ${p.join('; ')}`);
    }
  }
});

test('all rejected fields are listed together, each by its path', () => {
  const p = problems(() => parseConfig({ httpPort: true, rtmpPort: null, http: { headersTimeoutMs: true, corsOrigin: '' }, api: { token: 'short' }, apps: { 'bad/name': { listed: true }, live: { listed: 'no' } } }));
  const fields = p.map((x) => x.split(': ')[0]).sort();
  assert.deepEqual(fields, ['api.token', 'apps.bad/name', 'apps.live.listed', 'http.corsOrigin', 'http.headersTimeoutMs', 'httpPort', 'rtmpPort'], p.join('\n'));
});

test('text from flags and the environment is parsed explicitly; bad text names its source', () => {
  const c = loadConfig({ httpPort: '8081' }, undefined, { TRIBUTARY_RTMP_PORT: '1936', TRIBUTARY_HTTP_PORT: '9999', TRIBUTARY_API_TOKEN: 't'.repeat(20) });
  assert.equal(c.httpPort, 8081, 'a flag wins over the environment');
  assert.equal(c.rtmpPort, 1936);
  assert.equal(c.api.token, 't'.repeat(20));
  for (const text of ['', ' 1', '1e3', '0x10', '1.5', '-1', 'true']) {
    assert.match(problems(() => loadConfig({ httpPort: text }))[0]!, /^httpPort: expected a whole number, got .* \(from --http-port\)$/, JSON.stringify(text));
  }
  const p = problems(() => loadConfig({ rtmpPort: 'x' }, undefined, { TRIBUTARY_TRANSPORT_PORT: 'y', TRIBUTARY_LOG_LEVEL: 'loud' }));
  assert.equal(p.length, 3, p.join('\n'));
  assert.match(p.join('\n'), /transportPort: .*\(from TRIBUTARY_TRANSPORT_PORT\)/);
  assert.match(p.join('\n'), /rtmpPort: .*\(from --rtmp-port\)/);
  assert.match(p.join('\n'), /logLevel: /);
  assert.match(problems(() => loadConfig({ 'api.token': 'x'.repeat(20) }))[0]!, /api\.token: not a setting flags can give/);
});

test('apps default to listed; an app can be unlisted; the API token is optional', () => {
  const c = parseConfig({ apps: { hidden: { listed: false }, shown: {} } });
  assert.equal(c.apps['hidden']!.listed, false);
  assert.equal(c.apps['shown']!.listed, true);
  assert.equal(c.api.token, undefined);
  assert.match(problems(() => parseConfig({ api: { token: 'has spaces in it, sixteen+' } }))[0]!, /^api\.token: must be 16\.\.256 characters/);
});
