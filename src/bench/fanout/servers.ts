/**
 * The servers under the fanout bench, each in a process of its own so its CPU and memory can be
 * read from /proc: tributary (this checkout's `tributary serve`) and Node-Media-Server v4 (the
 * Node.js peer operators compare with), both on free loopback ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ServerImpl = 'tributary' | 'nms';

export interface RunningServer {
  impl: ServerImpl;
  rtmpPort: number;
  httpPort: number;
  /** UDP (and TCP fallback) port of the transport listener (tributary only). */
  transportPort: number;
  /** The HTTP-FLV URL of app/key on this server. */
  flvUrl(app: string, key: string): string;
  /** CPU seconds (user + system) the process has used so far. */
  cpuSeconds(): number;
  /** Resident memory, MiB. */
  rssMiB(): number;
  stop(): Promise<void>;
}

/** `extraArgs` go to `tributary serve` after the ports (e.g. `--config FILE`); ignored for nms. */
export async function startServer(impl: ServerImpl, extraArgs: string[] = []): Promise<RunningServer> {
  const [rtmpPort, httpPort, transportPort] = await Promise.all([freePort(), freePort(), freePort()]);
  let child: ChildProcess;
  let cleanup = (): void => undefined;
  if (impl === 'tributary') {
    const { main, execArgv } = tributaryEntry();
    // Node flags for the server under test only (e.g. `--cpu-prof --cpu-prof-dir=DIR` to see
    // where its time goes); NODE_OPTIONS cannot carry those, and would reach every process.
    const nodeArgs = (process.env.TRIBUTARY_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const args = [...nodeArgs, ...execArgv, main, 'serve', '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--transport-port', String(transportPort), '--srt-port', '0', '--log-level', 'warn', ...extraArgs];
    child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-nms-'));
    cleanup = () => rmSync(dir, { recursive: true, force: true });
    const config = { bind: '127.0.0.1', rtmp: { port: rtmpPort }, http: { port: httpPort }, store: { path: join(dir, 'data') }, auth: { play: false, publish: false, secret: 'bench' }, webadmin: { enable: false }, record: { auto: false, path: join(dir, 'record') } };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    // NMS logs every session at debug level to stdout; nobody reads it here.
    child = spawn(process.execPath, [nmsEntry(), '-c', join(dir, 'config.json')], { stdio: ['ignore', 'ignore', 'inherit'], cwd: dir });
  }
  const exited = once(child, 'exit');
  try {
    await Promise.race([
      Promise.all([waitForPort(rtmpPort), waitForPort(httpPort)]),
      exited.then(([code]) => Promise.reject(new Error(`${impl} server exited with ${code} before listening`))),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    cleanup();
    throw e;
  }
  const pid = child.pid!;
  return {
    impl,
    rtmpPort,
    httpPort,
    transportPort,
    flvUrl: (app, key) => `http://127.0.0.1:${httpPort}/${app}/${key}.flv`,
    cpuSeconds: () => procCpuSeconds(pid),
    rssMiB: () => procRssMiB(pid),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
    },
  };
}

/** This checkout's CLI: the TypeScript source through tsx when we run from source, else dist. */
function tributaryEntry(): { main: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const main = resolve(dirname(here), `../../cli/main.${fromSource ? 'ts' : 'js'}`);
  return { main, execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

function nmsEntry(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('node-media-server/package.json');
    return join(dirname(pkg), 'bin', 'app.js');
  } catch {
    throw new Error('node-media-server is not installed: it is a devDependency (npm ci without --omit=dev), needed for --impl nms|both');
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), res(true)));
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** utime + stime of a process from /proc/PID/stat, in seconds (Linux; USER_HZ is 100). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function procRssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
