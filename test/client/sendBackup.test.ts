/**
 * `tributary send` with more than one server, on real sockets: a list of addresses (moved along
 * when the current server goes away) and --backup (one input published to two servers at
 * once; on one server with `backup: true` the second stands by and takes over).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sender } from '../../src/client/send/Sender.js';
import { TeeInput } from '../../src/client/send/TeeInput.js';
import { openInput } from '../../src/client/send/inputs.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import { requireBinary } from '../media/mp4/source.js';

const HOST = '127.0.3.42';
const dir = mkdtempSync(join(tmpdir(), 'tributary-send-backup-'));
const cleanup: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
  rmSync(dir, { recursive: true, force: true });
});

/** 3 s of 320x240 25 fps H.264 + AAC as FLV, played in a loop by the sender's file input. */
function makeFlv(): string {
  requireBinary('ffmpeg');
  const file = join(dir, 'src.flv');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3', '-f', 'lavfi', '-i', 'sine=duration=3',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', file]);
  assert.equal(r.status, 0, r.stderr?.toString());
  return file;
}

async function server(): Promise<{ server: Server; url: (key: string) => string }> {
  const s = new Server(parseConfig({ host: HOST, httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { enabled: false }, logLevel: 'silent', apps: { live: { backup: true } } }), { logger: createLogger('silent') });
  const a = await s.start();
  cleanup.push(() => s.close());
  return { server: s, url: (key) => `tributary://${HOST}:${a.transportPort}/live/${key}` };
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const file = makeFlv();

test('with a list of servers, the sender moves to the next address when its server goes away', async () => {
  const a = await server();
  const b = await server();
  const sender = await Sender.start({ input: file, loop: true, output: a.url('move'), alternates: [b.url('move')], deadAfterMs: 600, minBackoffMs: 100 });
  cleanup.push(() => sender.close());
  await until('live on the first server', () => (a.server.registry.find('live', 'move')?.framesIn ?? 0) > 20);
  assert.equal(b.server.registry.find('live', 'move'), undefined);
  const closedAt = Date.now();
  await a.server.close();
  await until('live on the second server', () => (b.server.registry.find('live', 'move')?.framesIn ?? 0) > 20);
  assert.ok(Date.now() - closedAt < 5000, `moved after ${Date.now() - closedAt} ms`);
  assert.equal(sender.status().server, new URL(b.url('move').replace('tributary:', 'http:')).host);
});

test('--backup: one input, two publishers; on a server with backups the second stands by and takes over when the first leaves', async () => {
  const s = await server();
  const tee = new TeeInput(openInput(file, { loop: true }));
  const main = await Sender.start({ input: tee.branch(), output: s.url('two') });
  cleanup.push(() => main.close());
  const stream = () => s.server.registry.find('live', 'two');
  await until('the main publishes', () => (stream()?.framesIn ?? 0) > 10);
  const backup = await Sender.start({ input: tee.branch(), output: s.url('two') });
  cleanup.push(() => backup.close());
  await until('the backup stands by with a keyframe', () => stream()?.standbyStats()?.ready === true);
  assert.ok(backup.status().framesSent > 0, 'the backup sends too');
  const standbyId = stream()!.standby!.id;
  await main.close();
  await until('the backup took over', () => stream()?.publisher?.id === standbyId);
  assert.equal(stream()!.switches, 1);
  const before = stream()!.framesIn;
  await until('media keeps coming from the backup', () => stream()!.framesIn > before + 25);
});
