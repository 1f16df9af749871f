import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyToken } from '../../src/server/auth.js';
import { httpGet } from '../server/http/tools.js';

const cli = ['--import', 'tsx', 'src/cli/main.ts'];

function run(args: string[]) {
  return spawnSync(process.execPath, [...cli, ...args], { encoding: 'utf8', timeout: 20_000 });
}

function run2(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [...cli, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
}

test('serve starts on the given ports, answers, and exits 0 on SIGTERM', async () => {
  const p = spawn(process.execPath, [...cli, 'serve', '--host', '127.0.0.1', '--http-port', '0', '--rtmp-port', '0', '--transport-port', '0', '--srt-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const listening = await new Promise<{ httpPort: number }>((resolve, reject) => {
      let out = '';
      p.stdout!.on('data', (d: Buffer) => {
        out += d;
        for (const line of out.split('\n')) {
          if (line.includes('tributary server listening')) resolve(JSON.parse(line));
        }
      });
      p.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
    });
    assert.ok(listening.httpPort > 0);
    assert.equal((await httpGet(`http://127.0.0.1:${listening.httpPort}/healthz`)).body, 'ok\n');
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    p.kill('SIGKILL');
  }
});

test('an invalid flag is refused at start with the field and reason, exit code 2', () => {
  const r = run(['serve', '--http-port', 'abc']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /invalid config:\n\s+httpPort: .*number/);
});

test('an invalid config file is refused naming the nested field, exit code 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-cli-'));
  try {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ viewer: { skipBytes: 'lots' } }));
    const r = run(['serve', '--config', file, '--http-port', '0', '--rtmp-port', '0', '--transport-port', '0', '--srt-port', '0']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /viewer\.skipBytes: .*expected number/);
    writeFileSync(file, JSON.stringify({ auth: { publish: true } }));
    const r2 = run(['serve', '--config', file, '--http-port', '0', '--rtmp-port', '0', '--transport-port', '0', '--srt-port', '0']);
    assert.equal(r2.status, 2, r2.stderr);
    assert.match(r2.stderr, /auth\.secret: required when auth\.publish or auth\.play is true/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('serve refuses a config whose numbers are booleans, null or empty, listing each field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-cli-'));
  try {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ httpPort: true, rtmpPort: null, transportPort: '', http: { headersTimeoutMs: true } }));
    const r = run(['serve', '--config', file]);
    assert.equal(r.status, 2, r.stderr);
    for (const f of ['httpPort', 'rtmpPort', 'transportPort', 'http\\.headersTimeoutMs']) assert.match(r.stderr, new RegExp(`\\n\\s+${f}: .*expected number`), f);
    const env = run2(['serve', '--host', '127.0.0.1'], { TRIBUTARY_HTTP_PORT: 'eighty' });
    assert.equal(env.status, 2, env.stderr);
    assert.match(env.stderr, /httpPort: expected a whole number, got "eighty" \(from TRIBUTARY_HTTP_PORT\)/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('serve says where the stream list is and who may read it, never printing the api token', { timeout: 60_000 }, async () => {
  const token = 'printed-never-0123456789';
  for (const env of [{}, { TRIBUTARY_API_TOKEN: token }]) {
    const p = spawn(process.execPath, [...cli, 'serve', '--host', '127.0.0.1', '--http-port', '0', '--rtmp-port', '0', '--transport-port', '0', '--srt-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let err = '';
        p.stderr!.on('data', (d: Buffer) => {
          err += d;
          const m = /^tributary serve: stream list .*$/m.exec(err);
          if (m) resolve(m[0]);
        });
        p.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
      if ('TRIBUTARY_API_TOKEN' in env) {
        assert.match(line, /\?token=API_TOKEN .*Authorization: Bearer API_TOKEN/);
        assert.doesNotMatch(line, new RegExp(token));
      } else assert.match(line, /http:\/\/127\.0\.0\.1:\d+\/; it, \/api and \/metrics answer loopback only/);
    } finally {
      p.kill('SIGKILL');
    }
  }
});

test('token mints a token the server accepts for that action and stream only', () => {
  const secret = 'cli-secret-0123456789';
  const r = run(['token', 'publish', 'live/cam1', '--secret', secret, '--ttl', '60']);
  assert.equal(r.status, 0, r.stderr);
  const token = r.stdout.trim();
  assert.equal(verifyToken(secret, token, { action: 'publish', app: 'live', key: 'cam1' }).ok, true);
  assert.equal(verifyToken(secret, token, { action: 'play', app: 'live', key: 'cam1' }).ok, false);
  assert.notEqual(run(['token', 'publish', 'nokey', '--secret', secret]).status, 0);
});

test('--help lists the commands found beside main', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\s+serve \[options\]/m);
  assert.match(r.stdout, /^\s+token \[options\] <action> <path>/m);
});
