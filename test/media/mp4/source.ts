// Real media for the mp4 and hls tests: ffmpeg encodes testsrc2 + sine into a fragmented MP4,
// and the demuxer under test turns it into configs and frames.
import { spawnSync } from 'node:child_process';
import type { CodecConfig, MediaFrame } from '../../../src/media/frame.js';
import { demuxFmp4 } from '../../../src/media/mp4/Fmp4Demuxer.js';

export function requireBinary(name: string): void {
  const r = spawnSync(name, ['-version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) throw new Error(`${name} is required by this test but was not found (apt-get install -y ffmpeg)`);
}

export interface Source {
  video: CodecConfig;
  audio: CodecConfig;
  /** Video and audio frames interleaved in dts order. */
  frames: MediaFrame[];
  bytes: Uint8Array;
}

/** seconds of 640x360 H.264 (GOP `gop` frames at 30 fps, B-frames if asked) + 44.1 kHz AAC. */
export function encodeSource(opts: { seconds: number; gop: number; bframes: number }): Source {
  requireBinary('ffmpeg');
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${opts.seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${opts.seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(opts.gop), '-keyint_min', String(opts.gop), '-sc_threshold', '0',
    '-bf', String(opts.bframes), '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', 'pipe:1',
  ], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.toString()}`);
  const bytes = new Uint8Array(r.stdout);
  const { tracks, outputs } = demuxFmp4(bytes);
  const video = tracks.find((t) => t.kind === 'video')?.config;
  const audio = tracks.find((t) => t.kind === 'audio')?.config;
  if (!video || !audio) throw new Error('ffmpeg output lacks a track');
  const frames = outputs.flatMap((o) => (o.type === 'frame' ? [o.frame] : []));
  frames.sort((a, b) => a.dts - b.dts || (a.kind === 'video' ? -1 : 1));
  return { video, audio, frames, bytes };
}

/** Runs ffprobe on a file and returns its JSON (streams, with packet counts). Blocks: not for URLs this process serves. */
export function ffprobe(input: string, extra: string[] = []): { streams: Array<Record<string, unknown>> } {
  requireBinary('ffprobe');
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_packets', '-show_streams', '-of', 'json', ...extra, input], { maxBuffer: 16 << 20, timeout: 30000 });
  if (r.status !== 0) throw new Error(`ffprobe failed: ${r.stderr?.toString()}`);
  return JSON.parse(r.stdout.toString()) as { streams: Array<Record<string, unknown>> };
}

/** ffprobe without blocking the event loop: for URLs served by this same process. */
export async function ffprobeLive(input: string): Promise<{ streams: Array<Record<string, unknown>> }> {
  requireBinary('ffprobe');
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', input], { timeout: 20000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ffprobe failed: ${String(stderr) || err.message}`));
      else resolve(JSON.parse(stdout) as { streams: Array<Record<string, unknown>> });
    });
  });
}
