/**
 * `tributary bench srt`: one ffmpeg/libsrt caller (testsrc + sine, H.264/AAC in MPEG-TS)
 * pushes through the link emulator into Tributary's SRT listener and, in the same run with the
 * same encoded bytes (ffmpeg's tee muxer), into a `srt-live-transmit` listener, the libsrt
 * reference receiver. A third copy is written locally as the reference of what was sent.
 *
 *   ffmpeg --tee--> UdpLinkProxy -> Relay -> Tributary (Server, srt.port)      -> tap -> a.ts
 *             \---> UdpLinkProxy -> Relay -> srt-live-transmit (listener) -> UDP -> b.ts
 *              \--> sent.ts
 *
 * Judged: `duration` seconds after `warmup` seconds; the caller then goes on for a latency and
 * more, so neither the start nor the end of the session is judged.
 *
 * decodedRatio (the definition): video frames of the judged window a decoder gets out
 * of what the receiver delivered, over the frames sent. A picture with a hole in it still comes
 * out (concealed), so `exactRatio` also counts only pictures identical to those decoded from
 * sent.ts (framemd5): a lost packet then costs every frame up to the next keyframe. serverDelayMs: per data payload, the time from
 * its first arrival at the receiver (the relay) to the receiver delivering it (Tributary: the
 * payload handed to its TS demuxer; libsrt: srt-live-transmit's UDP output).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UdpLinkProxy } from '../../emulator/UdpLinkProxy.js';
import { summarize } from '../percentiles.js';
import { parseConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { Server } from '../../server/Server.js';
import { decodedFrames, frameHashes, matchingFrames } from './frames.js';
import { payloadKey, Relay } from './Relay.js';

export interface SrtBenchOptions {
  rtt: number;
  /** Random loss each way, percent. */
  loss: number;
  /** SRT latency on every side, ms. */
  latency: number;
  duration: number;
  /** Seconds sent before the judged ones (not judged). */
  warmup: number;
  /** Video bitrate, Mbit/s. */
  bitrate: number;
  seed: number;
}

export interface SrtBenchResult {
  impl: 'tributary' | 'libsrt';
  decodedRatio: number;
  serverDelayMs: { p50: number; p95: number };
  /** For the table only. */
  detail: { framesSent: number; framesDecoded: number; framesExact: number; payloads: number; unmatched: number; lostOnLink: number; receiver?: import('../../srt/Receiver.js').ReceiverStats };
}

const FPS = 25;

function requirePrograms(): void {
  for (const [p, pkg] of [['ffmpeg', 'ffmpeg'], ['srt-live-transmit', 'srt-tools']] as const) {
    if (spawnSync(p, ['-version'], { stdio: 'ignore' }).error) throw new Error(`${p} not found: apt-get install -y ${pkg}`);
  }
}

async function udp(): Promise<Socket> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

async function freeUdpPort(): Promise<number> {
  const s = await udp();
  const p = s.address().port;
  s.close();
  return p;
}

export async function benchSrt(o: SrtBenchOptions): Promise<SrtBenchResult[]> {
  requirePrograms();
  const dir = mkdtempSync(join(tmpdir(), 'bench-srt-'));
  const link = { delayMs: o.rtt / 2, loss: o.loss / 100 };
  const procs: ChildProcess[] = [];
  const closers: Array<() => unknown> = [];
  try {
    // Tributary: the real server, SRT listener on a free port.
    const srtPort = await freeUdpPort();
    const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: srtPort, latencyMs: o.latency }, logLevel: 'warn' }), { logger: createLogger('warn', process.stderr) });
    await server.start();
    closers.push(() => server.close());
    const tribChunks: Buffer[] = [];
    const tribOut = new Map<string, number>();
    server.srt!.tap = (id, payload, now) => {
      tribConn ??= server.srt!.listener.connections.get(id)?.conn;
      tribChunks.push(Buffer.from(payload));
      const k = payloadKey(payload);
      if (!tribOut.has(k)) tribOut.set(k, now);
    };

    // libsrt: srt-live-transmit as listener, its output to a UDP socket of ours.
    const sltPort = await freeUdpPort();
    const sink = await udp();
    closers.push(() => sink.close());
    const sltChunks: Buffer[] = [];
    const sltOut = new Map<string, number>();
    sink.on('message', (d) => {
      const now = performance.now();
      sltChunks.push(d);
      const k = payloadKey(d);
      if (!sltOut.has(k)) sltOut.set(k, now);
    });
    const slt = spawn('srt-live-transmit', ['-q', '-a', 'no', `srt://:${sltPort}?mode=listener&latency=${o.latency}`, `udp://127.0.0.1:${sink.address().port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    slt.stderr!.resume();
    procs.push(slt);

    const relays = [await Relay.start({ host: '127.0.0.1', port: srtPort }), await Relay.start({ host: '127.0.0.1', port: sltPort })];
    for (const r of relays) closers.push(() => r.close());
    const proxies = [
      new UdpLinkProxy({ target: { host: '127.0.0.1', port: relays[0]!.port }, up: link, down: link, seed: o.seed }),
      new UdpLinkProxy({ target: { host: '127.0.0.1', port: relays[1]!.port }, up: link, down: link, seed: o.seed + 1 }),
    ];
    const proxyPorts = [await proxies[0]!.listen(), await proxies[1]!.listen()];
    for (const p of proxies) closers.push(() => p.close());
    await new Promise((r) => setTimeout(r, 300)); // srt-live-transmit listening

    const frames = Math.round(o.duration * FPS);
    // The caller goes on past the judged frames for a latency and more: a receiver that ends
    // with the session (srt-live-transmit drops what TSBPD still holds) is not judged on that.
    const tailS = Math.ceil((o.latency + o.rtt) / 1000) + 2;
    // Nor on the start: ffmpeg's tee connects its outputs one after the other (a handshake is
    // two round trips), so the first second or so reaches the links as one burst.
    const warmupS = o.warmup;
    let tribConn: import('../../srt/Connection.js').Connection | undefined;
    const sent = join(dir, 'sent.ts');
    const lat = o.latency * 1000; // ffmpeg's srt latency option is in microseconds
    const kbps = Math.round(o.bitrate * 1000);
    const tee = [
      `[f=mpegts]srt\\://127.0.0.1\\:${proxyPorts[0]}?streamid=bench/srt&latency=${lat}`,
      `[f=mpegts]srt\\://127.0.0.1\\:${proxyPorts[1]}?latency=${lat}`,
      `[f=mpegts]${sent}`,
    ].join('|');
    const ff = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', `testsrc=size=640x360:rate=${FPS}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-frames:v', String(frames + (warmupS + tailS) * FPS), '-t', String(warmupS + o.duration + tailS),
      '-map', '0:v', '-map', '1:a',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(FPS),
      '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${Math.round(kbps / 2)}k`,
      '-c:a', 'aac', '-b:a', '64k',
      '-f', 'tee', tee,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let ffErr = '';
    ff.stderr!.on('data', (d: Buffer) => (ffErr = (ffErr + d.toString()).slice(-4000)));
    procs.push(ff);
    const code = await new Promise<number | null>((r) => ff.on('exit', (c) => r(c)));
    if (code !== 0) throw new Error(`ffmpeg exited ${code}: ${ffErr}`);

    const a = join(dir, 'tributary.ts');
    const b = join(dir, 'libsrt.ts');
    writeFileSync(a, Buffer.concat(tribChunks));
    writeFileSync(b, Buffer.concat(sltChunks));
    const all = await frameHashes(sent);
    const ref = new Map([...all.entries()].sort((x, y) => x[0] - y[0]).slice(warmupS * FPS, warmupS * FPS + frames));
    if (ref.size < frames) throw new Error(`the reference has ${ref.size} frames, ${frames} were to be sent`);
    const results: SrtBenchResult[] = [];
    for (const [impl, file, out, relay, proxy] of [['tributary', a, tribOut, relays[0]!, proxies[0]!], ['libsrt', b, sltOut, relays[1]!, proxies[1]!]] as const) {
      const got = await frameHashes(file);
      const exact = matchingFrames(ref, got);
      const decoded = decodedFrames(ref, got);
      const delays: number[] = [];
      let unmatched = 0;
      let first = Infinity;
      for (const t of relay.arrivals.values()) first = Math.min(first, t);
      const from = first + warmupS * 1000;
      const to = from + o.duration * 1000;
      for (const [k, t] of out) {
        const arrived = relay.arrivals.get(k);
        if (arrived === undefined) unmatched++;
        else if (arrived >= from && arrived < to) delays.push(t - arrived);
      }
      const s = summarize(delays);
      results.push({
        impl,
        decodedRatio: Math.round((decoded / frames) * 10000) / 10000,
        serverDelayMs: { p50: s.p50, p95: s.p95 },
        detail: {
          framesSent: frames,
          framesDecoded: decoded,
          framesExact: exact,
          payloads: out.size,
          unmatched,
          lostOnLink: proxy.upLink.stats.droppedLoss + proxy.downLink.stats.droppedLoss,
          ...(impl === 'tributary' && tribConn ? { receiver: tribConn.stats().receiver } : {}),
        },
      });
    }
    return results;
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    for (const c of closers.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  }
}
