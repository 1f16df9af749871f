/**
 * Debian's coturn on loopback for `bench p2p --real --node-peers`: every Node peer reaches the
 * others only through a TURN allocation here, behind its own link emulator (peerHost.ts). One
 * static long-term user; a relay port range wide enough for one allocation per peer connection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchTurn {
  port: number;
  user: string;
  pass: string;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}

export async function startTurn(relayPorts = 3000): Promise<BenchTurn> {
  if (!existsSync('/usr/bin/turnserver')) throw new Error('--node-peers needs coturn (apt-get install -y coturn)');
  const port = await freeUdpPort();
  const dir = mkdtempSync(join(tmpdir(), 'trib-bench-turn-'));
  const user = 'bench';
  const pass = 'bench-relay-pass';
  const min = 30000 + Math.floor(Math.random() * 10) * relayPorts;
  const turn: ChildProcess = spawn('turnserver', ['-n', '--listening-ip=127.0.0.1', `--listening-port=${port}`, '--relay-ip=127.0.0.1', `--min-port=${min}`, `--max-port=${min + relayPorts - 1}`,
    '--lt-cred-mech', `--user=${user}:${pass}`, '--realm=tributary.bench', '--fingerprint', '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls', '--no-tcp-relay',
    `--pidfile=${join(dir, 'pid')}`, '--simple-log', `--log-file=${join(dir, 'turn.log')}`, '--no-stdout-log', '--verbose'], { stdio: 'ignore' });
  const log = () => {
    try {
      return readFileSync(join(dir, 'turn.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (turn.exitCode === null && turn.signalCode === null) {
      // coturn takes ~1.5 s to leave on SIGTERM when idle; one that does not leave is killed,
      // so a test's teardown can never wait on it for good.
      const exited = once(turn, 'exit');
      turn.kill('SIGTERM');
      const kill = setTimeout(() => turn.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (/Total UDP servers: [1-9]|IPv4. UDP listener opened on\s*:\s*127\.0\.0\.1:\d+/.test(log())) return { port, user, pass, pid: turn.pid!, log, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = log().slice(-2000);
  await stop();
  throw new Error(`coturn did not listen: ${tail}`);
}
