import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';

/** Fails (never skips) when a program the test needs is missing. */
export function requireProgram(name: string): void {
  const r = spawnSync(name, ['-version'], { stdio: 'ignore' });
  if (r.error) throw new Error(`${name} is required for this test (apt-get install -y ${name === 'ffprobe' ? 'ffmpeg' : name}): ${r.error.message}`);
}

/** ffmpeg pushing testsrc2 + sine as H.264/AAC over RTMP, paced in real time. */
export function pushRtmp(url: string, seconds = 30): ChildProcess {
  requireProgram('ffmpeg');
  const p = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30',
    '-c:a', 'aac', '-f', 'flv', url,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  p.on('exit', (code) => {
    if (code && code !== 255) console.error(`ffmpeg push exited ${code}: ${err}`);
  });
  return p;
}

export async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGINT');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await done;
  clearTimeout(t);
}

export interface ProbeResult {
  streams: { codec_type: string; codec_name: string; width?: number; height?: number; nb_read_frames?: string }[];
}

/** ffprobe counting frames of the first seconds of a live URL. */
export function ffprobe(url: string, seconds = 2): Promise<ProbeResult> {
  requireProgram('ffprobe');
  return new Promise((resolve, reject) => {
    const p = spawn('ffprobe', ['-v', 'error', '-read_intervals', `%+${seconds}`, '-count_frames', '-show_entries',
      'stream=codec_type,codec_name,width,height,nb_read_frames', '-of', 'json', '-rw_timeout', '10000000', url]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`ffprobe exited ${code}: ${err}`));
      resolve(JSON.parse(out) as ProbeResult);
    });
  });
}

export function httpGet(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
