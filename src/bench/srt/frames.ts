import { spawn } from 'node:child_process';

/**
 * Per-frame MD5 of the decoded pictures of a TS file's video (ffmpeg's framemd5 muxer), by pts,
 * with the file's own timestamps (-copyts) so that files missing their first frames still line up.
 */
export function frameHashes(file: string): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'quiet', '-copyts', '-i', file, '-map', '0:v:0', '-f', 'framemd5', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.on('error', reject);
    p.on('exit', () => {
      const m = new Map<number, string>();
      for (const line of out.split('\n')) {
        if (line.startsWith('#') || !line.trim()) continue;
        const f = line.split(',').map((s) => s.trim());
        if (f.length >= 6) m.set(Number(f[2]), f[5]!);
      }
      resolve(m);
    });
  });
}

/** Frames of the reference's pts that `got` decoded at all (a concealed picture counts). */
export function decodedFrames(reference: Map<number, string>, got: Map<number, string>): number {
  let n = 0;
  for (const pts of reference.keys()) if (got.has(pts)) n++;
  return n;
}

/**
 * Frames of `got` whose picture is exactly the reference's at the same pts. A picture
 * concealed after a loss, or damaged by a reference that was, decodes differently and does not count.
 */
export function matchingFrames(reference: Map<number, string>, got: Map<number, string>): number {
  let n = 0;
  for (const [pts, md5] of reference) if (got.get(pts) === md5) n++;
  return n;
}
