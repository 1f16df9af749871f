import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffprobe, pushRtmp, stop, waitFor } from '../server/http/tools.js';
import { serve, type Served } from './serveProcess.js';

// A node with P2P off: `play --p2p` is refused at /p2p/APP/KEY and plays the edge's FLV instead.

let served: Served;
let push: ChildProcess;
const dir = mkdtempSync(join(tmpdir(), 'trib-p2p-fb-'));

before(async () => {
  served = await serve({});
  push = pushRtmp(`rtmp://127.0.0.1:${served.rtmpPort}/live/cam`, 600);
});

after(async () => {
  if (push) await stop(push);
  await served?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('play --p2p on a node without P2P plays from the edge', { timeout: 60_000 }, async () => {
  await new Promise((r) => setTimeout(r, 3000));
  const file = join(dir, 'out.flv');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'play', '--p2p', '-o', file, `http://127.0.0.1:${served.httpPort}/live/cam`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d));
  try {
    await waitFor('it falls back', () => (log.includes('playing from the edge instead') ? true : undefined), 20_000);
    await new Promise((r) => setTimeout(r, 4000));
  } finally {
    await stop(child);
  }
  assert.match(log, /signalling (refused|closed|failed)/, log);
  const probe = await ffprobe(file, 600);
  const video = probe.streams.find((s) => s.codec_type === 'video');
  assert.equal(video?.codec_name, 'h264', `${JSON.stringify(probe)}\n${log}`);
  assert.ok(Number(video?.nb_read_frames) > 30, JSON.stringify(probe));
});
