import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';
import type { Stream } from '../../../src/server/Stream.js';
import type { Subscriber } from '../../../src/server/Subscriber.js';
import { Pump } from '../http/fixture.js';
import { waitFor } from '../http/tools.js';

const cli = ['--import', 'tsx', 'src/cli/main.ts'];
const STALL_CUT_MS = 1500;
let server: Server;
let port: number;
let stream: Stream;
let pump: Pump;
const players: ChildProcess[] = [];

before(async () => {
  server = new Server(
    parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, viewer: { skipBytes: 64 << 10, cutBytes: 4 << 20, stallCutMs: STALL_CUT_MS } }),
    { logger: createLogger('silent') },
  );
  port = (await server.start()).transportPort;
  stream = server.registry.app('live').stream('k');
  pump = new Pump(stream).start();
});

after(async () => {
  for (const p of players) {
    p.kill('SIGCONT');
    p.kill('SIGKILL');
  }
  pump.stop();
  await server.close();
});

/** A real `tributary play` process; resolves with the server-side viewer it became. */
async function play(): Promise<{ proc: ChildProcess; sub: Subscriber }> {
  const before = new Set(stream.subscribers.keys());
  const proc = spawn(process.execPath, [...cli, 'play', `tributary://127.0.0.1:${port}/live/k`, '-o', '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
  players.push(proc);
  const sub = await waitFor('the player to subscribe', () => [...stream.subscribers.values()].find((s) => s.protocol === 'tributary' && !before.has(s.id)), 20_000);
  return { proc, sub };
}

test('a transport viewer that stops taking media is cut after stallCutMs; one that keeps up is not', { timeout: 60_000 }, async () => {
  const stuck = await play();
  const fine = await play();
  // Both receive for a while; the one that keeps up reads as (nearly) nothing queued.
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(fine.sub.pendingBytes() < 64 << 10, `a viewer on loopback estimated at ${fine.sub.pendingBytes()} bytes queued`);
  // SIGSTOP: the process neither reads nor acknowledges, as a viewer whose network died.
  stuck.proc.kill('SIGSTOP');
  const t0 = Date.now();
  await waitFor('the stopped viewer to be cut', () => (stuck.sub.isClosed ? true : undefined), 15_000);
  const cutAfter = Date.now() - t0;
  // Well before the transport's own 30 s idle timeout: it is the stall rule that cut it.
  assert.ok(cutAfter >= STALL_CUT_MS && cutAfter < 8000, `cut ${cutAfter} ms after the player stopped`);
  assert.equal(fine.sub.isClosed, false, 'the viewer that keeps up stays');
  assert.equal(stream.subscribers.has(stuck.sub.id), false);
  assert.equal(stream.subscribers.has(fine.sub.id), true);
});
