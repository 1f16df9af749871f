import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pushRtmp, stop, waitFor } from '../server/http/tools.js';
import { probe, readIndex, segmentsOf } from './tools.js';

const cli = ['--import', 'tsx', 'src/cli/main.ts'];

test('kill -9 of the server mid-segment leaves an index of whole segments and a last segment ffprobe still reads', async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-crash-'));
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { enabled: false }, logLevel: 'info',
    apps: { live: { record: { path: join(root, 'rec/{app}/{key}'), segmentSeconds: 3 } } },
  }));
  const server = spawn(process.execPath, [...cli, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const push = { p: undefined as ReturnType<typeof pushRtmp> | undefined };
  try {
    const listening = await new Promise<{ rtmpPort: number }>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (d: Buffer) => {
        out += d;
        for (const line of out.split('\n')) if (line.includes('tributary server listening')) resolve(JSON.parse(line));
      });
      server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
    });
    push.p = pushRtmp(`rtmp://127.0.0.1:${listening.rtmpPort}/live/cam`, 30);
    const dir = join(root, 'rec/live/cam');
    // Two segments indexed, then half of the third (3 s): kill -9 lands mid-segment.
    await waitFor('two segments indexed', () => (existsSync(join(dir, 'index.jsonl')) && segmentsOf(readIndex(dir)).length >= 2 ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    const died = new Promise((r) => server.once('exit', r));
    server.kill('SIGKILL');
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
  } finally {
    server.kill('SIGKILL');
    if (push.p) await stop(push.p);
    rmSync(root, { recursive: true, force: true });
  }
});
