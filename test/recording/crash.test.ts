import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpGet, pushRtmp, stop, waitFor } from '../server/http/tools.js';
import { probe, readIndex, segmentsOf } from './tools.js';

const cli = ['--import', 'tsx', 'src/cli/main.ts'];

/** `tributary serve --config FILE` as a child process, and the ports its log says it bound. */
function serve(config: string) {
  const child = spawn(process.execPath, [...cli, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const listening = new Promise<{ rtmpPort: number; httpPort: number }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      for (const line of out.split('\n')) if (line.includes('tributary server listening')) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  listening.catch(() => undefined);
  return { child, listening };
}

test('kill -9 of the server mid-segment leaves an index of whole segments and a last segment ffprobe still reads; a new process lists it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-crash-'));
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { enabled: false }, logLevel: 'info',
    apps: { live: { record: { path: join(root, 'rec/{app}/{key}'), segmentSeconds: 3 } } },
  }));
  const server = serve(config);
  let restarted: ReturnType<typeof serve> | undefined;
  const push = { p: undefined as ReturnType<typeof pushRtmp> | undefined };
  try {
    const listening = await server.listening;
    push.p = pushRtmp(`rtmp://127.0.0.1:${listening.rtmpPort}/live/cam`, 30);
    const dir = join(root, 'rec/live/cam');
    // Two segments indexed, then half of the third (3 s): kill -9 lands mid-segment.
    await waitFor('two segments indexed', () => (existsSync(join(dir, 'index.jsonl')) && segmentsOf(readIndex(dir)).length >= 2 ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    const died = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGKILL');
    await died;

    const text = readFileSync(join(dir, 'index.jsonl'), 'utf8');
    assert.ok(text.endsWith('\n'), 'the index holds whole lines only');
    const index = readIndex(dir);
    assert.equal(index[0]!.type, 'start');
    assert.ok(!index.some((e) => e.type === 'end'), 'no end line: the process never finished');
    const segs = segmentsOf(index);
    assert.ok(segs.length >= 2);
    for (const s of segs) {
      const p = await probe(join(dir, s.file));
      assert.deepEqual(p.codecs, { video: 'h264', audio: 'aac' }, s.file);
      assert.ok(Math.abs(p.video.spanMs - s.durationMs) <= 40, `${s.file}: ffprobe ${p.video.spanMs} ms, index ${s.durationMs} ms`);
      assert.equal(p.errors, '', `${s.file} reads without errors`);
    }
    const files = readdirSync(dir).filter((f) => f.endsWith('.flv')).sort();
    const open = files.filter((f) => !segs.some((s) => s.file === f));
    assert.equal(open.length, 1, `one segment was open at the crash: ${files.join(' ')}`);
    const last = await probe(join(dir, open[0]!));
    assert.deepEqual(last.codecs, { video: 'h264', audio: 'aac' }, 'the open segment has its headers');
    assert.ok(last.video.keyFirst && last.video.count >= 5, `the open segment plays up to the crash: ${last.video.count} video frames`);
    assert.ok(last.video.firstMs >= segs.at(-1)!.lastDts, 'and continues the indexed ones');

    // A new server process lists the crashed recording from its index.
    restarted = serve(config);
    const { httpPort } = await restarted.listening;
    const api = JSON.parse((await httpGet(`http://127.0.0.1:${httpPort}/api/recordings`)).body) as { recordings: unknown[]; stored: { dir: string; key: string; ended: boolean; segmentCount: number; durationMs: number }[] };
    assert.deepEqual(api.recordings, []);
    const stored = api.stored.find((r) => r.dir === dir);
    assert.ok(stored, JSON.stringify(api));
    assert.deepEqual({ key: stored.key, ended: stored.ended, segmentCount: stored.segmentCount }, { key: 'cam', ended: false, segmentCount: segs.length });
    assert.equal(stored.durationMs, Math.round(segs.reduce((a, x) => a + x.durationMs, 0)));
  } finally {
    server.child.kill('SIGKILL');
    restarted?.child.kill('SIGKILL');
    if (push.p) await stop(push.p);
    rmSync(root, { recursive: true, force: true });
  }
});
