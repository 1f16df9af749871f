import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../server/http/tools.js';

export type Coturn = { port: number; user: string; pass: string; url: string; log: () => string; stop: () => Promise<void> };

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}

/** Debian's coturn on loopback with one static long-term user; resolves once it listens. */
export async function startCoturn(user = 'tributary', pass = 'relay-only-test-pass'): Promise<Coturn> {
  // (Not requireProgram: `turnserver -version` is no option of coturn's, and starts a server.)
  if (!existsSync('/usr/bin/turnserver')) throw new Error('turnserver is required for this test (apt-get install -y coturn)');
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), 'trib-coturn-'));
  const relayMin = 41000 + Math.floor(Math.random() * 200) * 20;
  const turn: ChildProcess = spawn('turnserver', ['-n', '--listening-ip=127.0.0.1', `--listening-port=${port}`, '--relay-ip=127.0.0.1', `--min-port=${relayMin}`, `--max-port=${relayMin + 19}`,
    '--lt-cred-mech', `--user=${user}:${pass}`, '--realm=tributary.test', '--fingerprint', '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--no-tcp-relay',
    `--pidfile=${join(dir, 'pid')}`, '--simple-log', `--log-file=${join(dir, 'turn.log')}`, '--no-stdout-log', '--verbose'], { stdio: 'ignore' });
  const log = () => { try { return readFileSync(join(dir, 'turn.log'), 'utf8'); } catch { return ''; } };
  const stop = async () => {
    if (turn.exitCode === null && turn.signalCode === null) {
      turn.kill('SIGTERM');
      await once(turn, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  await waitFor('coturn to listen', () => (/Total UDP servers: [1-9]|IPv4. UDP listener opened on\s*:\s*127\.0\.0\.1:\d+/.test(log()) ? true : undefined), 10_000).catch(async (err) => {
    const tail = log().slice(-2000);
    await stop();
    throw new Error(`${err.message}: ${tail}`);
  });
  return { port, user, pass, url: `turn:127.0.0.1:${port}?transport=udp`, log, stop };
}
