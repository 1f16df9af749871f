import { execFile } from 'node:child_process';

/** What ffprobe found in a file or URL: its tracks, or why it is not media. */
export type ProbeResult = { ok: true; video: boolean; audio: boolean } | { ok: false; reason: string };

/**
 * Asks ffprobe (Debian's, next to ffmpeg) what a mix input holds before a decoder is built for
 * it: a file that is not media or a URL that never answers becomes a clear reason within
 * `timeoutMs`, not a decoder that hangs.
 */
export function probe(url: string, timeoutMs = 8000, ffprobe = 'ffprobe'): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(ffprobe, ['-v', 'error', '-rw_timeout', '5000000', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', url], { timeout: timeoutMs, maxBuffer: 1 << 16 }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as NodeJS.ErrnoException & { killed?: boolean }).killed ? `no answer within ${timeoutMs} ms` : (stderr.trim().split('\n').pop() ?? err.message);
        return resolve({ ok: false, reason: `${url}: ${why.slice(0, 300)}` });
      }
      const kinds = stdout.split('\n').map((l) => l.trim());
      if (!kinds.includes('video')) return resolve({ ok: false, reason: `${url}: no video track` });
      resolve({ ok: true, video: true, audio: kinds.includes('audio') });
    });
  });
}
