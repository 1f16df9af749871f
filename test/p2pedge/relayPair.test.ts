import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { launchChromium } from '../webrtc/chromium.js';
import { pushRtmp, stop } from '../server/http/tools.js';
import { serve, type Served } from './serveProcess.js';
import { twoTabs } from './tabs.js';

// Debian's coturn on loopback with one static user; the browsers may use relay candidates only.
const TURN_PORT = 20_000 + (process.pid % 20_000);
let turn: ChildProcess;
let turnLog = '';
let turnDir: string;
let served: Served;
let push: ChildProcess;
let browser: BrowserContext;
let closeBrowser: () => Promise<void>;

before(async () => {
  // (Not requireProgram: `turnserver -version` is no option of coturn's, and starts a server.)
  if (!existsSync('/usr/bin/turnserver')) throw new Error('turnserver is required for this test (apt-get install -y coturn)');
  turnDir = mkdtempSync(join(tmpdir(), 'trib-turn-'));
  turn = spawn('turnserver', ['-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${TURN_PORT}`, '--lt-cred-mech', '--user=viewer:relay-secret',
    '--realm=tributary', '--no-tls', '--no-dtls', '--no-cli', '--allow-loopback-peers', `--min-port=${TURN_PORT + 1}`, `--max-port=${TURN_PORT + 200}`,
    `--pidfile=${join(turnDir, 'pid')}`, '--log-file=stdout', '--simple-log', '--verbose'], { stdio: ['ignore', 'pipe', 'pipe'] });
  turn.stdout!.on('data', (d: Buffer) => (turnLog = (turnLog + d).slice(-50_000)));
  turn.stderr!.on('data', (d: Buffer) => (turnLog = (turnLog + d).slice(-50_000)));
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(turn.exitCode, null, `turnserver exited: ${turnLog}`);
  served = await serve({ p2p: { iceServers: [{ urls: `turn:127.0.0.1:${TURN_PORT}?transport=udp`, username: 'viewer', credential: 'relay-secret' }], iceTransportPolicy: 'relay' } });
  push = pushRtmp(`rtmp://127.0.0.1:${served.rtmpPort}/live/cam`, 60);
  ({ browser, close: closeBrowser } = await launchChromium());
});

after(async () => {
  await closeBrowser?.();
  if (push) await stop(push);
  await served?.close();
  if (turn) await stop(turn);
  if (turnDir) rmSync(turnDir, { recursive: true, force: true });
});

test('two tabs with relay candidates only exchange slices through a real coturn', async () => {
  const { second } = await twoTabs(served, browser);
  assert.ok(second.p2p!.pairs.length > 0 && second.p2p!.pairs.every((p) => p === 'relay/relay'), `pairs ${second.p2p!.pairs}`);
  // coturn saw the allocations and carried the bytes (its session log names the user).
  assert.match(turnLog, /viewer/);
  console.log(`second tab: ${JSON.stringify(second)}`);
});
