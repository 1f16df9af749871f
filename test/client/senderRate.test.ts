import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../../src/server/Server.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Sender } from '../../src/client/send/Sender.js';
import { UdpLinkProxy } from '../../src/emulator/UdpLinkProxy.js';
import { RateBottleneck } from '../../src/emulator/Bottleneck.js';
import { requireBinary } from '../media/mp4/source.js';

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a fixed-rate input above what the uplink carries: the status says the uplink cannot carry the encoder\'s rate and what it can', { timeout: 60_000 }, async () => {
  requireBinary('ffmpeg');
  const dir = mkdtempSync(join(tmpdir(), 'trib-rate-'));
  // 2.5 Mbit/s of video from a fixed-rate encoder (an OBS setting), into a 0.6 Mbit/s uplink.
  const file = join(dir, 'hi.flv');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=4,noise=alls=30:allf=t', '-f', 'lavfi', '-i', 'sine=duration=4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '1250k', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', file]);
  assert.equal(r.status, 0, r.stderr?.toString());
  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const { transportPort } = await server.start();
  const proxy = new UdpLinkProxy({ target: { host: '127.0.0.1', port: transportPort }, up: { delayMs: 20, bottleneck: new RateBottleneck(600_000), queueBytes: 75_000 }, down: { delayMs: 20 } });
  const port = await proxy.listen();
  const sender = await Sender.start({ input: file, loop: true, output: `tributary://127.0.0.1:${port}/live/fixed`, latencyMs: 1000 });
  try {
    await until(() => sender.status().rateWarning !== undefined, 30_000, `a rate warning (status ${JSON.stringify(sender.status())})`);
    const st = sender.status();
    console.log(st.rateWarning);
    assert.match(st.rateWarning!, /the uplink cannot carry the encoder's [\d.]+ Mbit\/s, it carries about ([\d.]+) Mbit\/s/);
    assert.ok(st.inputBps > 1_500_000, `input ${st.inputBps}`);
    const carried = Number(/carries about ([\d.]+)/.exec(st.rateWarning!)![1]);
    assert.ok(carried < 1.5, `carries about ${carried} Mbit/s of a 0.6 Mbit/s link`);
    assert.ok(st.framesDropped > 0, 'the transport sheds');
  } finally {
    await sender.close();
    proxy.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an input within what the uplink carries raises no rate warning', { timeout: 60_000 }, async () => {
  requireBinary('ffmpeg');
  const dir = mkdtempSync(join(tmpdir(), 'trib-rate-'));
  const file = join(dir, 'lo.flv');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30:duration=4', '-f', 'lavfi', '-i', 'sine=duration=4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '300k', '-maxrate', '300k', '-bufsize', '150k', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', file]);
  assert.equal(r.status, 0, r.stderr?.toString());
  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const { transportPort } = await server.start();
  const sender = await Sender.start({ input: file, loop: true, output: `tributary://127.0.0.1:${transportPort}/live/ok`, latencyMs: 1000 });
  try {
    await until(() => sender.status().state === 'live' && sender.status().framesSent > 100, 20_000, 'live');
    for (let i = 0; i < 8; i++) {
      await new Promise((res) => setTimeout(res, 500));
      assert.equal(sender.status().rateWarning, undefined, JSON.stringify(sender.status()));
    }
  } finally {
    await sender.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
