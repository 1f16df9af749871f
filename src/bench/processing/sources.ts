import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';

/*
 * What the processing benches share: live ffmpeg sources pushed over RTMP, a decoding viewer
 * (ffmpeg reading HTTP-FLV, raw pictures back with their arrival time), the API call, pixel
 * sampling. All real programs (Debian's ffmpeg); nothing simulated.
 */

export function pushSource(rtmpPort: number, path: string, o: { size: string; fps: number; pattern: string; filter?: string; kbps?: number }): ChildProcess {
  const src = `${o.pattern}${o.pattern.includes('=') ? ':' : '='}size=${o.size}:rate=${o.fps}`;
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', src, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    ...(o.filter ? ['-vf', o.filter] : []), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(o.fps), '-pix_fmt', 'yuv420p',
    ...(o.kbps ? ['-b:v', `${o.kbps}k`] : []), '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/${path}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr!.on('data', () => undefined);
  p.on('error', (err) => process.stderr.write(`ffmpeg source: ${err.message}\n`));
  return p;
}

export function decodeViewer(url: string, width: number, height: number, onPicture: (data: Buffer, at: number) => void): ChildProcess {
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '200000', '-analyzeduration', '500000', '-i', url,
    '-map', '0:v:0', '-vf', `scale=${width}:${height}`, '-pix_fmt', 'yuv420p', '-flush_packets', '1', '-f', 'rawvideo', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stderr!.on('data', () => undefined);
  const size = width * height * 1.5;
  let buf: Buffer = Buffer.alloc(0);
  p.stdout!.on('data', (c: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    while (buf.length >= size) {
      onPicture(buf.subarray(0, size), Date.now());
      buf = buf.subarray(size);
    }
  });
  return p;
}

/** Mean U and V of a 4x4 block of an I420 picture at (x, y). */
export function chromaAt(data: Buffer, width: number, height: number, x: number, y: number): [number, number] {
  let us = 0;
  let vs = 0;
  for (let dy = -2; dy < 2; dy++) {
    for (let dx = -2; dx < 2; dx++) {
      const c = ((y + dy) >> 1) * (width / 2) + ((x + dx) >> 1);
      us += data[width * height + c]!;
      vs += data[width * height * 1.25 + c]!;
    }
  }
  return [us / 16, vs / 16];
}

export function call(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, method, path, headers: text ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } : {} }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : undefined }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

export async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGCONT');
  p.kill('SIGKILL');
  await done;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
