import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { requireProgram } from '../server/http/tools.js';

/** An ffmpeg caller pushing testsrc + sine as H.264/AAC in MPEG-TS over SRT, paced in real time. */
export function pushSrt(url: string, seconds: number, fps = 25): ChildProcess & { stderrText: () => string } {
  requireProgram('ffmpeg');
  const p = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'warning', '-re',
    '-f', 'lavfi', '-i', `testsrc=size=320x240:rate=${fps}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(fps),
    '-c:a', 'aac', '-f', 'mpegts', url,
  ], { stdio: ['ignore', 'ignore', 'pipe'] }) as ChildProcess & { stderrText: () => string };
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  p.stderrText = () => err;
  return p;
}

export function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((r) => p.once('exit', (code) => r(code)));
}

/** Runs a program to its end; resolves with its exit code, stdout bytes and the end of stderr. */
export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  if (cmd === 'srt-live-transmit') requireSrtLiveTransmit();
  else requireProgram(cmd);
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** Video and audio frames ffprobe decodes in a TS file (or `-` with stdin not supported: use files). */
export async function countFrames(file: string): Promise<{ video: number; audio: number }> {
  const r = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames', '-of', 'json', file]);
  if (r.code !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.toString()) as { streams: { codec_type: string; nb_read_frames?: string }[] };
  const get = (t: string) => Number(j.streams.find((s) => s.codec_type === t)?.nb_read_frames ?? 0);
  return { video: get('video'), audio: get('audio') };
}

/** srt-live-transmit is in Debian's srt-tools; fail, never skip, without it. */
export function requireSrtLiveTransmit(): void {
  const r = spawnSync('srt-live-transmit', ['-version'], { stdio: 'ignore' });
  if (r.error) throw new Error(`srt-live-transmit is required for this test (apt-get install -y srt-tools): ${r.error.message}`);
}
