/** `tributary serve --config FILE` as a child process (the real CLI), and the ports its log says it bound. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stop } from '../server/http/tools.js';

export interface Served {
  child: ChildProcess;
  httpPort: number;
  rtmpPort: number;
  log: () => string;
  close: () => Promise<void>;
}

export async function serve(config: Record<string, unknown>): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'trib-p2p-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { enabled: false }, logLevel: 'info', ...config }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out = (out + d).slice(-20_000)));
  const ports = await new Promise<{ httpPort: number; rtmpPort: number }>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out = (out + d).slice(-20_000);
      for (const line of out.split('\n')) if (line.includes('tributary server listening')) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  return {
    child,
    ...ports,
    log: () => out,
    close: async () => {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
