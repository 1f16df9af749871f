import { execFile } from 'node:child_process';
import { pictureBytes, type Picture } from './compose.js';

/**
 * What a stalled input shows: by default one flat colour (Y, U, V) a viewer, and a test,
 * can tell from any real picture; a configured image or clip is decoded once, its first
 * picture scaled and cropped to the mix's size.
 */
export const SLATE_COLOUR: [number, number, number] = [41, 240, 110];

export function loadSlate(url: string, width: number, height: number, ffmpeg = 'ffmpeg'): Promise<Picture> {
  return new Promise((resolve, reject) => {
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', url, '-frames:v', '1',
      '-vf', `scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height},format=yuv420p`, '-f', 'rawvideo', 'pipe:1'];
    execFile(ffmpeg, args, { encoding: 'buffer', maxBuffer: pictureBytes(width, height) + 1024, timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`slate ${url}: ${stderr.toString().trim().split('\n').pop() ?? err.message}`));
      if (stdout.length < pictureBytes(width, height)) return reject(new Error(`slate ${url}: no picture decoded`));
      resolve({ width, height, data: new Uint8Array(stdout.buffer, stdout.byteOffset, pictureBytes(width, height)) });
    });
  });
}
