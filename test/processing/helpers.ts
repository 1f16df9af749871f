import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { requireProgram } from '../server/http/tools.js';

export { requireProgram, stop, waitFor } from '../server/http/tools.js';

/** ffmpeg pushing a small live test pattern (H.264 + AAC, GOP 1 s) to rtmp://127.0.0.1:PORT/PATH. */
export function pushPattern(rtmpPort: number, path: string, o: { size?: string; fps?: number; seconds?: number; pattern?: string; filter?: string; kbps?: number } = {}): ChildProcess {
  requireProgram('ffmpeg');
  const fps = o.fps ?? 15;
  const p = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `${o.pattern ?? 'testsrc2'}${(o.pattern ?? '').includes('=') ? ':' : '='}size=${o.size ?? '320x180'}:rate=${fps}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(o.seconds ?? 60), ...(o.filter ? ['-vf', o.filter] : []), ...(o.kbps ? ['-b:v', `${o.kbps}k`] : []),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(fps), '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/${path}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  p.stderr!.on('data', () => undefined);
  return p;
}

/** One JSON API call; resolves with the status and the parsed body. */
export function api(port: number, method: string, path: string, body?: unknown, rawBody?: string): Promise<{ status: number; body: any }> {
  return apiAt(`http://127.0.0.1:${port}`, method, path, body, rawBody);
}

/**
 * The same at a base URL, on a connection of its own (no keep-alive: a node a test kills must
 * not leave a pooled socket for the next call).
 */
export function apiAt(base: string, method: string, path: string, body?: unknown, rawBody?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const text = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const req = request(`${base}${path}`, { method, agent: false, headers: text === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => {
        let parsed: unknown = data;
        try {
          parsed = JSON.parse(data);
        } catch {
          /* not JSON: keep the text */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { slowLinkViewer } from '../../src/bench/processing/slowLinkViewer.js';

/** A decoding viewer: ffmpeg reads a URL and hands each decoded I420 picture (at its size) with its arrival time. */
export function decodingViewer(url: string, width: number, height: number, onPicture: (data: Buffer, at: number) => void): ChildProcess {
  requireProgram('ffmpeg');
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '200000', '-analyzeduration', '500000', '-i', url,
    '-map', '0:v:0', '-vf', `scale=${width}:${height}`, '-pix_fmt', 'yuv420p', '-flush_packets', '1', '-f', 'rawvideo', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  p.stderr!.on('data', () => undefined);
  const size = width * height * 1.5;
  let buf = Buffer.alloc(0);
  p.stdout!.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= size) {
      onPicture(buf.subarray(0, size), Date.now());
      buf = buf.subarray(size);
    }
  });
  return p;
}

/** Mean Y, U, V of an 8x8 block of an I420 picture centred on (x, y). */
export function yuvAt(data: Buffer, width: number, height: number, x: number, y: number): [number, number, number] {
  let ys = 0;
  let us = 0;
  let vs = 0;
  for (let dy = -4; dy < 4; dy++) {
    for (let dx = -4; dx < 4; dx++) {
      const px = x + dx;
      const py = y + dy;
      ys += data[py * width + px]!;
      const c = (py >> 1) * (width / 2) + (px >> 1);
      us += data[width * height + c]!;
      vs += data[width * height * 1.25 + c]!;
    }
  }
  return [ys / 64, us / 64, vs / 64];
}
