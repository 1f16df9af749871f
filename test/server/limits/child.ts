import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RtmpStats } from '../../../src/server/rtmp/types.js';

export interface Mem {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  budgetUsed: number;
  budgetPeak: number;
  rtmp: RtmpStats;
  http: Record<string, number>;
}

/** memoryServer.ts in a child process, with its heap capped so a runaway dies early. */
export class ChildServer {
  rtmpPort = 0;
  httpPort = 0;
  /** Set when the child exits: its code or signal. */
  exit: string | undefined;
  /** Its stderr (pino warn lines), last 64 KiB. */
  log = '';
  private lines: ((l: string) => void)[] = [];
  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => this.lines.shift()?.(l));
    child.stderr!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-65536)));
    child.once('exit', (code, signal) => (this.exit = `${code ?? signal}`));
  }

  static async start(overrides: object = {}, maxOldSpaceMb = 256): Promise<ChildServer> {
    const main = fileURLToPath(new URL('./memoryServer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', `--max-old-space-size=${maxOldSpaceMb}`, main, JSON.stringify(overrides)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const c = new ChildServer(child);
    const ports = JSON.parse(await c.line(30_000)) as { rtmpPort: number; httpPort: number };
    c.rtmpPort = ports.rtmpPort;
    c.httpPort = ports.httpPort;
    return c;
  }

  private line(timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.exit !== undefined) return reject(new Error(`server exited (${this.exit})`));
      const t = setTimeout(() => reject(new Error(`server did not answer in ${timeoutMs} ms (exit ${this.exit})`)), timeoutMs);
      const onExit = (): void => reject(new Error(`server exited (${this.exit ?? 'now'}):\n${this.log.slice(-2000)}`));
      this.child.once('exit', onExit);
      this.lines.push((l) => {
        clearTimeout(t);
        this.child.off('exit', onExit);
        resolve(l);
      });
    });
  }

  async mem(): Promise<Mem> {
    this.child.stdin!.write('mem\n');
    return JSON.parse(await this.line()) as Mem;
  }

  async stop(): Promise<void> {
    if (this.exit !== undefined) return;
    this.child.stdin!.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await once(this.child, 'exit');
    clearTimeout(t);
  }
}
