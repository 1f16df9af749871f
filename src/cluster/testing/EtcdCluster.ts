/**
 * A real etcd cluster of three members on loopback, each with its own data dir in a temp dir:
 * what cluster tests and `tributary bench cluster` run against (never a mock of etcd).
 *
 *   const etcd = await EtcdCluster.start();   // throws EtcdMissingError without /usr/bin/etcd
 *   etcd.endpoints                             // ['127.0.1.11:20xyz', ...]
 *   await etcd.stopMember(await etcd.leaderIndex());  // kill -9 of the Raft leader
 *   await etcd.restartMember(0);               // the same member again, on its data dir and ports
 *   await etcd.stop();                         // kills every member, removes the data dirs
 *
 * Data dirs sit in /dev/shm where there is one (see start()): a loopback cluster's figures should
 * not depend on another job's disk traffic; a deployment puts etcd on its own disk.
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
import { Etcd3 } from 'etcd3';

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
    // Data dirs in memory when the machine has /dev/shm: every etcd write waits for an fsync on
    // all members, and on a disk shared with other jobs that alone took hundreds of ms a write.
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'tributary-etcd-'));
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

  /** kill -9 of one member, resolved once the process is gone (its data dir stays for restartMember). */
  async stopMember(index: number): Promise<void> {
    const c = this.member(index).child;
    if (!c || !running(c)) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  }

  /**
   * A black hole, not a crash: the member's process is stopped (SIGSTOP), so its sockets stay
   * open and the kernel still accepts connections, but nothing is ever answered; clients see
   * timeouts, never a refused connection or a reset. `resumeMember` lets it run on.
   */
  pauseMember(index: number): void {
    this.member(index).child?.kill('SIGSTOP');
  }

  resumeMember(index: number): void {
    this.member(index).child?.kill('SIGCONT');
  }

  /**
   * Starts a stopped member again on its data dir and ports (the initial-cluster flags are
   * ignored on a data dir that has a WAL); resolves when it reports healthy, which needs a
   * quorum: after stopping every member, restart them together (Promise.all).
   */
  async restartMember(index: number, timeoutMs = 20_000): Promise<void> {
    const m = this.member(index);
    if (m.child && running(m.child)) return;
    if (this.stopped) throw new Error('etcd cluster already stopped');
    m.log.length = 0;
    this.spawnMember(m);
    await this.waitHealthy(m, timeoutMs);
  }

  isRunning(index: number): boolean {
    const c = this.member(index).child;
    return c !== undefined && running(c);
  }

  /**
   * Index of the member that is the Raft leader (each running member is asked for its status:
   * the leader is the one whose own id is the leader it reports), or -1 while there is none.
   */
  async leaderIndex(): Promise<number> {
    for (const [i, m] of this.members.entries()) {
      if (!m.child || !running(m.child)) continue;
      const c = new Etcd3({ hosts: `http://${m.host}:${m.clientPort}`, dialTimeout: 1000, defaultCallOptions: () => ({ deadline: Date.now() + 1500 }) });
      try {
        const s = await c.maintenance.status();
        if (s.leader === s.header.member_id) return i;
      } catch {
        /* no answer from this one: it is not (or no longer) the leader we can see */
      } finally {
        c.close();
      }
    }
    return -1;
  }

  /** Whether a running member reports healthy (/health: it has a leader): cheap to poll, plain HTTP. */
  async hasLeader(): Promise<boolean> {
    const up = this.members.filter((m) => m.child && running(m.child));
    return (await Promise.all(up.map((m) => healthy(m.host, m.clientPort)))).some((h) => h);
  }

  /**
   * gRPC requests of one method ('Range', 'Txn', 'Put', ...) the running members have served
   * since they started, summed (etcd's own /metrics, grpc_server_started_total): how a test
   * counts etcd reads without trusting the code under test to count them.
   */
  async requests(method: string): Promise<number> {
    let sum = 0;
    for (const m of this.members) {
      if (!m.child || !running(m.child)) continue;
      const text = await metrics(m.host, m.clientPort);
      const re = /^grpc_server_started_total\{([^}]*)\} (\S+)$/gm;
      let found = false;
      for (const x of text.matchAll(re)) {
        if (!x[1]!.includes(`grpc_method="${method}"`)) continue;
        found = true;
        sum += Number(x[2]);
      }
      if (!found && !/^grpc_server_started_total/m.test(text)) throw new Error(`etcd member ${m.name}: no grpc_server_started_total in /metrics`);
    }
    return sum;
  }

  /**
   * gRPC messages the running members have received from clients since they started, summed over
   * every method (etcd's own /metrics, grpc_server_msg_received_total): unlike requests(), this
   * counts each keep-alive and watch message on a long-lived stream, so it is a client's whole
   * etcd traffic, as etcd saw it.
   */
  async messagesReceived(): Promise<number> {
    let sum = 0;
    for (const m of this.members) {
      if (!m.child || !running(m.child)) continue;
      const text = await metrics(m.host, m.clientPort);
      for (const x of text.matchAll(/^grpc_server_msg_received_total\{[^}]*\} (\S+)$/gm)) sum += Number(x[1]);
    }
    return sum;
  }

  private member(index: number): Member {
    const m = this.members[index];
    if (!m) throw new Error(`no etcd member ${index} (of ${this.members.length})`);
    return m;
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

function running(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

function metrics(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path: '/metrics', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`etcd /metrics: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('etcd /metrics: timed out')));
  });
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
