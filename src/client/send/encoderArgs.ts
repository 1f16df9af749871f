/**
 * The ffmpeg command line of the encoder ladder (`tributary send --encode`): one process reads
 * the input once, a split filter hands the same pictures to one libx264 per rung, and each rung
 * is FLV on its own pipe (fd 3, 4, ...); the AAC audio is FLV on the pipe after the last rung.
 * (Audio inside a rung's FLV would shift that rung's timestamps by the AAC priming delay.)
 *
 * Keyframes are aligned across rungs by construction: a fixed GOP (-g = -keyint_min, no
 * scene-cut keyframes, no B-frames) counted on the same frames. `stitchable` keeps x264 from
 * tuning the SPS/PPS to each rung's rate, so every rung has the same decoder config and a
 * switch needs no new sequence header. VBV (maxrate, a half-second buffer) bounds each rung's
 * bursts near its rate, as a link with a one-second deadline needs.
 */

export interface EncoderSource {
  /** ffmpeg's input arguments, ending with `-i SRC` (e.g. ['-re', '-i', 'file.mp4']). */
  inputArgs: string[];
  readonly describe: string;
}

export interface LadderOptions {
  /** Video bitrates, kbit/s, lowest first. */
  ladderKbps: number[];
  audioKbps: number;
  /** Encode the input's first audio stream (default true; false for a source without sound). */
  audio?: boolean;
  fps: number;
  /** GOP length in frames (default one second). A switch waits for the next keyframe. */
  gop?: number;
  /** Output picture size; default the input's. */
  width?: number;
  height?: number;
  /** x264 preset (default ultrafast: four rungs of 720p on one core of a small machine). */
  preset?: string;
}

/**
 * Steps of about 1.4x: with the switch's band (up at 85% of the target, down above 95%) the
 * rung sent stays between about 0.6 and 0.95 of the target. Eight rungs of 640x360 ultrafast
 * cost about 0.30 core (docs/benchmarks.md). The lowest, 100 kbit/s with 64 of audio, fits
 * under the transport's pacing at its 100 kbit/s floor (twice the target): with 200 kbit/s
 * at the bottom a controller at its floor dropped 7% of the pictures of a clean link.
 */
export const DEFAULT_LADDER_KBPS = [100, 200, 300, 450, 650, 900, 1250, 1750, 2500];

/**
 * What `tributary send --encode INPUT` reads:
 * - rtmp://127.0.0.1:PORT/APP/KEY (or localhost/0.0.0.0): ffmpeg listens there and OBS pushes to it;
 * - other URLs (rtmp://remote, srt://, udp://, rtsp://, http(s)://): ffmpeg reads them as they come;
 * - with `format` (e.g. v4l2, lavfi, avfoundation): `-f FORMAT -i INPUT`, a capture device or a generator;
 * - anything else is a file, played at its own rate (-re), looped with `loop`.
 */
export function encoderSource(input: string, o: { format?: string; loop?: boolean } = {}): EncoderSource {
  if (o.format) return { inputArgs: ['-f', o.format, ...(o.format === 'lavfi' ? ['-re'] : []), '-i', input], describe: `${o.format}:${input}` };
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? new URL(input) : undefined;
  if (url?.protocol === 'rtmp:' && ['127.0.0.1', 'localhost', '0.0.0.0', '[::1]'].includes(url.hostname)) {
    return { inputArgs: ['-listen', '1', '-i', input], describe: `${input} (listening for an encoder)` };
  }
  if (url) return { inputArgs: ['-i', input], describe: input };
  return { inputArgs: ['-re', ...(o.loop ? ['-stream_loop', '-1'] : []), '-i', input], describe: `${input}${o.loop ? ' (looped)' : ''}` };
}

export function ladderArgs(src: EncoderSource, o: LadderOptions): string[] {
  const n = o.ladderKbps.length;
  const gop = String(o.gop ?? Math.round(o.fps));
  const scale = o.width && o.height ? `,scale=${o.width}:${o.height}` : '';
  const labels = o.ladderKbps.map((_, i) => `[v${i}]`).join('');
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', ...src.inputArgs,
    '-filter_complex', `[0:v:0]fps=${o.fps}${scale},format=yuv420p,split=${n}${labels}`];
  o.ladderKbps.forEach((kbps, i) => {
    args.push('-map', `[v${i}]`);
    args.push('-c:v', 'libx264', '-preset', o.preset ?? 'ultrafast', '-tune', 'zerolatency', '-bf', '0',
      '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${Math.round(kbps / 2)}k`,
      '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-x264-params', 'stitchable=1',
      '-flvflags', 'no_duration_filesize', '-f', 'flv', `pipe:${3 + i}`);
  });
  // Audio on its own pipe. An input without audio needs `audio: false` (--no-audio): a map of
  // nothing fails the output, and ffmpeg cannot be asked in advance what a live input holds.
  if (o.audio !== false) args.push('-map', '0:a:0', '-c:a', 'aac', '-b:a', `${o.audioKbps}k`, '-ar', '48000', '-ac', '2', '-flvflags', 'no_duration_filesize', '-f', 'flv', `pipe:${3 + n}`);
  return args;
}
