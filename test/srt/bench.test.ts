// `tributary bench srt`, short: the JSON has exactly the fields, and on a lossy link
// Tributary's receiver repairs what it must. Real time with ffmpeg and srt-live-transmit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { requireSrtLiveTransmit } from './tools.js';
import { requireProgram } from '../server/http/tools.js';

test('bench srt prints a table and one JSON line per receiver with the issue\'s fields', async () => {
  requireProgram('ffmpeg');
  requireSrtLiveTransmit();
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', 'srt', '--rtt', '100', '--loss', '1', '--latency', '400', '--duration', '5', '--warmup', '2', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d));
  p.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise((r) => p.on('exit', r));
  assert.equal(code, 0, err);
  const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => l.impl), ['tributary', 'libsrt']);
  for (const l of lines) {
    assert.deepEqual(Object.keys(l).sort(), ['decodedRatio', 'impl', 'serverDelayMs']);
    assert.deepEqual(Object.keys(l.serverDelayMs as object).sort(), ['p50', 'p95']);
  }
  assert.match(out, /decodedRatio/);
  const trib = lines[0] as { decodedRatio: number; serverDelayMs: { p50: number } };
  const libsrt = lines[1] as { serverDelayMs: { p50: number } };
  assert.ok(trib.decodedRatio >= 0.95, `tributary decodedRatio ${trib.decodedRatio}`);
  // libsrt holds every packet to its play time; Tributary forwards what is in order at once.
  assert.ok(libsrt.serverDelayMs.p50 > 300, `libsrt p50 ${libsrt.serverDelayMs.p50}`);
  assert.ok(trib.serverDelayMs.p50 < libsrt.serverDelayMs.p50);
});
