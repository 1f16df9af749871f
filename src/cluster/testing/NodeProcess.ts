/**
 * One `tributary serve --cluster ...` node as a process of its own on its own loopback address
 * (127.0.1.x), with its own TRIBUTARY_HOME (so its own transport key), for cluster tests and
 * `tributary bench cluster`. `kill()` is a real kill -9: the node's lease then runs out in etcd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { free } from './EtcdCluster.js';

export interface NodeProcessOptions {
  id: string;
  region: string;
  /** Loopback address of its own, 127.0.1.x. */
  host: string;
  etcdUrl: string;
  secret: string;
  logLevel?: string;
  /** Extra `serve` arguments. */
  args?: string[];
}

export class NodeProcess {
  private exited: Promise<unknown>;
  private stderr: string[] = [];

  private constructor(
    readonly o: NodeProcessOptions,
    readonly child: ChildProcess,
    readonly httpPort: number,
    readonly transportPort: number,
    readonly rtmpPort: number,
    private readonly home: string,
  ) {
    this.exited = once(child, 'exit');
    // The pino log (stdout) and the CLI's lines (stderr), the newest 400 chunks, for error messages and debugging.
    for (const s of [child.stdout!, child.stderr!]) {
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        this.stderr.push(d);
        if (this.stderr.length > 400) this.stderr.shift();
      });
    }
  }

  get id(): string {
    return this.o.id;
  }

  get httpBase(): string {
    return `http://${this.o.host}:${this.httpPort}`;
  }

  /** The transport key's fingerprint `serve` printed. */
  fingerprint(): string | undefined {
    return /fingerprint ([A-Za-z0-9_-]{43})/.exec(this.stderr.join(''))?.[1];
  }

  transportUrl(app: string, key: string): string {
    return `tributary://${this.o.host}:${this.transportPort}/${app}/${key}`;
  }

  log(): string {
    return this.stderr.join('');
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(o: NodeProcessOptions, timeoutMs = 60_000): Promise<NodeProcess> {
    const [httpPort, transportPort, rtmpPort] = await ports(o.host, 3);
    const home = mkdtempSync(join(tmpdir(), `tributary-node-${o.id}-`));
    const { main, execArgv } = entry();
    // As bench/fanout/servers.ts: Node flags for the nodes only (e.g. --cpu-prof), for benches.
    const nodeArgs = (process.env.TRIBUTARY_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const args = [
      ...nodeArgs, ...execArgv, main, 'serve', '--host', o.host, '--http-port', String(httpPort), '--transport-port', String(transportPort), '--rtmp-port', String(rtmpPort), '--srt-port', '0',
      '--log-level', o.logLevel ?? 'warn', '--cluster', o.etcdUrl, '--node-id', o.id, '--region', o.region, ...(o.args ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRIBUTARY_HOME: home, TRIBUTARY_CLUSTER_SECRET: o.secret } });
    const n = new NodeProcess(o, child, httpPort, transportPort, rtmpPort, home);
    const until = Date.now() + timeoutMs;
    while (!/cluster node \S+ \(region \S+\) joined/.test(n.log()) || !n.fingerprint()) {
      if (!n.alive || Date.now() > until) {
        const why = n.alive ? `not joined after ${timeoutMs} ms` : `exited (${child.exitCode ?? child.signalCode})`;
        await n.stop();
        throw new Error(`node ${o.id} ${why}: ${n.log().slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return n;
  }

  /** kill -9: no clean leave, the lease has to run out. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a clean leave: the lease is revoked), SIGKILL after 5 s; removes its home. Idempotent. */
  async stop(): Promise<void> {
    if (this.alive) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
    }
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** This checkout's CLI: the TypeScript source through tsx when run from source, else dist. */
function entry(): { main: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  return { main: resolve(dirname(here), `../../cli/main.${fromSource ? 'ts' : 'js'}`), execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

/** `count` free ports on host in 20000-20999 (TCP checked; the transport's UDP port is the same number). */
async function ports(host: string, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let attempt = 0; out.length < count && attempt < 200; attempt++) {
    const p = 20000 + Math.floor(Math.random() * 1000);
    if (!out.includes(p) && (await free(host, p))) out.push(p);
  }
  if (out.length < count) throw new Error(`no ${count} free ports on ${host} in 20000-20999`);
  return out;
}
