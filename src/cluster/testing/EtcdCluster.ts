/**
 * A real etcd cluster of three members on loopback, each with its own data dir in a temp dir:
 * what cluster tests and `tributary bench cluster` run against (never a mock of etcd).
 *
 *   const etcd = await EtcdCluster.start();   // throws EtcdMissingError without /usr/bin/etcd
 *   etcd.endpoints                             // ['127.0.1.11:20xyz', ...]
 *   await etcd.stop();                         // kills every member, removes the data dirs
 *
 * Members listen on 127.0.1.11-13 (one address each, so `kill` of one is a real member loss);
 * the port pair of each is picked from 20000-20999 and checked free first, so two runs on one
 * machine do not collide.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = process.env.TRIBUTARY_ETCD ?? '/usr/bin/etcd';

export class EtcdMissingError extends Error {
  constructor(path: string) {
    super(`etcd is not installed at ${path} (Debian: apt-get install etcd-server; or set TRIBUTARY_ETCD): cluster tests and benches need a real etcd`);
    this.name = 'EtcdMissingError';
  }
}

interface Member {
  name: string;
  host: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  child: ChildProcess | undefined;
  log: string[];
}

export class EtcdCluster {
  private stopped = false;

  private constructor(
    private readonly members: Member[],
    private readonly dir: string,
  ) {}

  /** host:port of every member's client listener, for `etcd://a,b,c` and the etcd3 client. */
  get endpoints(): string[] {
    return this.members.map((m) => `${m.host}:${m.clientPort}`);
  }

  /** The `--cluster` value for `tributary serve`. */
  get url(): string {
    return `etcd://${this.endpoints.join(',')}`;
  }

  static async start(o: { size?: number; startupTimeoutMs?: number } = {}): Promise<EtcdCluster> {
    if (!existsSync(ETCD_BINARY)) throw new EtcdMissingError(ETCD_BINARY);
    const size = o.size ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'tributary-etcd-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      const host = `127.0.1.${11 + i}`;
      const [clientPort, peerPort] = await freePair(host);
      members.push({ name: `m${i + 1}`, host, clientPort, peerPort, dataDir: join(dir, `m${i + 1}`), child: undefined, log: [] });
    }
    const c = new EtcdCluster(members, dir);
    try {
      for (const m of members) c.spawnMember(m);
      await Promise.all(members.map((m) => c.waitHealthy(m, o.startupTimeoutMs ?? 20_000)));
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  private spawnMember(m: Member): void {
    const peers = this.members.map((p) => `${p.name}=http://${p.host}:${p.peerPort}`).join(',');
    const client = `http://${m.host}:${m.clientPort}`;
    const peer = `http://${m.host}:${m.peerPort}`;
    const args = [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', peers, '--initial-cluster-state', 'new', '--initial-cluster-token', `tributary-${process.pid}`,
      // Loopback: a short heartbeat and election, so a member loss is noticed in about a second.
      '--heartbeat-interval', '100', '--election-timeout', '1000',
      '--logger', 'zap', '--log-level', 'error',
    ];
    const child = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8');
    // The last lines only, for the error message when a member does not come up.
    child.stderr!.on('data', (d: string) => {
      m.log.push(d);
      if (m.log.length > 20) m.log.shift();
    });
    m.child = child;
  }

  private async waitHealthy(m: Member, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (m.child?.exitCode !== null && m.child?.exitCode !== undefined) throw new Error(`etcd member ${m.name} exited with ${m.child.exitCode}: ${m.log.join('').slice(-2000)}`);
      if (await healthy(m.host, m.clientPort)) return;
      if (Date.now() > until) throw new Error(`etcd member ${m.name} not healthy after ${timeoutMs} ms: ${m.log.join('').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** kill -9 of one member (etcd-member-kill); the other two keep a quorum. */
  killMember(index: number): void {
    this.members[index]?.child?.kill('SIGKILL');
  }

  /** Kills every member and removes the data dirs. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(
      this.members.map(async (m) => {
        const c = m.child;
        if (!c || c.exitCode !== null || c.signalCode !== null) return;
        const exited = once(c, 'exit');
        c.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function healthy(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host, port, path: '/health', timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/** Two consecutive free TCP ports on `host` in 20000-20999 (client, peer). */
async function freePair(host: string): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = 20000 + 2 * Math.floor(Math.random() * 499);
    if ((await free(host, p)) && (await free(host, p + 1))) return [p, p + 1];
  }
  throw new Error(`no free port pair on ${host} in 20000-20999`);
}

export function free(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}
