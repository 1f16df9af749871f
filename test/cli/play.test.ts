import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../../src/server/Server.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { requireBinary } from '../media/mp4/source.js';

const cli = ['--import', 'tsx', 'src/cli/main.ts'];

function run(cmd: string, args: string[]): { done: Promise<{ code: number | null; out: string; err: string }>; kill: () => void } {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += String(d)));
  p.stderr.on('data', (d) => (err += String(d)));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => p.on('close', (code) => resolve({ code, out, err })));
  return { done, kill: () => p.kill('SIGTERM') };
}

test('tributary send (CLI, file input) -> server -> tributary play (CLI) piped into ffprobe: H.264 and AAC come out; a refused play exits 1 with the reason', { timeout: 90_000 }, async () => {
  requireBinary('ffmpeg');
  requireBinary('ffprobe');
  const dir = mkdtempSync(join(tmpdir(), 'trib-cli-play-'));
  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const { transportPort } = await server.start();
  const file = join(dir, 'in.ts');
  const enc = run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3', '-f', 'lavfi', '-i', 'sine=duration=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', file]);
  assert.equal((await enc.done).code, 0);
  const send = run(process.execPath, [...cli, 'send', file, `tributary://127.0.0.1:${transportPort}/live/cli`, '--loop', '--stats-json', '--cc', 'capacity']);
  try {
    const deadline = Date.now() + 20_000;
    while (!server.registry.find('live', 'cli')?.isLive) {
      assert.ok(Date.now() < deadline, 'the CLI sender publishes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const play = spawn(process.execPath, [...cli, 'play', `tributary://127.0.0.1:${transportPort}/live/cli`, '--format', 'ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const probe = spawn('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'compact', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    play.stdout.pipe(probe.stdin);
    probe.stdin.on('error', () => {});
    let probed = '';
    probe.stdout.on('data', (d) => (probed += String(d)));
    await new Promise((r) => probe.on('close', r));
    play.kill('SIGTERM');
    assert.match(probed, /codec_name=h264\|width=320\|height=240/);
    assert.match(probed, /codec_name=aac/);

    const refused = run(process.execPath, [...cli, 'play', `tributary://127.0.0.1:${transportPort}/live/cli?token=1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`]);
    const r = await refused.done;
    assert.equal(r.code, 1);
    assert.match(r.err, /tributary play: not sent: the token expired/);
  } finally {
    send.kill();
    const s = await send.done;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    assert.match(s.err, /connected to 127\.0\.0\.1/);
    // --cc capacity reached the link: its status names the controller.
    const last = s.out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { links: Array<{ controller: string }> }).filter((j) => j.links.length).pop();
    assert.equal(last?.links[0]?.controller, 'capacity', s.out.slice(-500));
  }
});
