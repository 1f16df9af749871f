import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { UdpLinkProxy } from '../../emulator/UdpLinkProxy.js';
import type { LinkConfig } from '../../emulator/LinkConfig.js';
import { FrameAssembler, HEADER_BYTES, cutFrame } from './Datagrams.js';
import type { SourceFrame } from './Source.js';

export interface SrtRunOptions {
  frames: SourceFrame[];
  links: { up: LinkConfig; down: LinkConfig };
  /** SRT's latency setting, ms. */
  srtLatencyMs: number;
  durationS: number;
  /** How long after the last capture to keep listening, ms. */
  drainMs: number;
  seed: number;
}

export interface SrtRunResult {
  complete: Map<number, number>;
  /** UDP payload bytes in the media direction, minus the bench's own headers. */
  wireBytes: number;
}

export class SrtMissingError extends Error {}

/** Fails loudly if srt-live-transmit is not installed (Debian package srt-tools). */
export function checkSrt(): void {
  const r = spawnSync('srt-live-transmit', ['-version'], { encoding: 'utf8' });
  if (r.error) throw new SrtMissingError('srt-live-transmit not found: apt-get install -y srt-tools');
}

async function udp(port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(port, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

async function freePort(): Promise<number> {
  const s = await udp();
  const p = s.address().port;
  s.close();
  return p;
}

/**
 * sender --udp--> srt-live-transmit (caller) --SRT--> UdpLinkProxy --> srt-live-transmit
 * (listener) --udp--> receiver. Media starts once a probe datagram has made it end to end, so
 * the handshake is not counted against SRT. Real time throughout.
 */
export async function runSrt(o: SrtRunOptions): Promise<SrtRunResult> {
  checkSrt();
  const receiver = await udp();
  const sender = await udp();
  const listenPort = await freePort();
  const proxy = new UdpLinkProxy({ target: { host: '127.0.0.1', port: listenPort }, up: o.links.up, down: o.links.down, seed: o.seed });
  const proxyPort = await proxy.listen();
  const inPort = await freePort();
  const lat = Math.max(20, Math.round(o.srtLatencyMs));
  const procs: ChildProcess[] = [];
  const start = (args: string[]) => {
    const p = spawn('srt-live-transmit', ['-a', 'no', '-q', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr?.resume();
    procs.push(p);
  };
  start([`srt://:${listenPort}?mode=listener&latency=${lat}`, `udp://127.0.0.1:${receiver.address().port}`]);
  start([`udp://127.0.0.1:${inPort}`, `srt://127.0.0.1:${proxyPort}?mode=caller&latency=${lat}`]);

  const asm = new FrameAssembler();
  let t0 = 0;
  let probeSeen: (() => void) | undefined;
  receiver.on('message', (m) => {
    if (m.length === 5 && m.toString() === 'probe') probeSeen?.();
    else asm.onDatagram(performance.now() - t0, m);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => sender.send('probe', inPort, '127.0.0.1'), 50);
      const fail = setTimeout(() => {
        clearInterval(timer);
        reject(new Error('SRT connection not established within 10 s'));
      }, 10_000);
      probeSeen = () => {
        clearInterval(timer);
        clearTimeout(fail);
        resolve();
      };
    });
    probeSeen = undefined;
    const before = proxy.upLink.stats.offeredBytes;
    t0 = performance.now();
    let sentHeaders = 0;
    await new Promise<void>((resolve) => {
      let i = 0;
      const tick = () => {
        const now = performance.now() - t0;
        while (i < o.frames.length && o.frames[i]!.capture <= now) {
          const f = o.frames[i++]!;
          for (const d of cutFrame(f.id, f.size, f.capture)) {
            sentHeaders += HEADER_BYTES;
            sender.send(d, inPort, '127.0.0.1');
          }
        }
        if (i < o.frames.length) setTimeout(tick, Math.max(0, o.frames[i]!.capture - (performance.now() - t0)));
        else setTimeout(resolve, o.drainMs);
      };
      tick();
    });
    const wireBytes = proxy.upLink.stats.offeredBytes - before - sentHeaders;
    return { complete: asm.complete, wireBytes };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    proxy.close();
    receiver.close();
    sender.close();
  }
}
