import type { InputSpec, OutputSpec } from './JobSpec.js';

export interface TranscodeArgsOptions {
  input: InputSpec;
  outputs: readonly OutputSpec[];
  fps: number;
  gopSeconds: number;
  preset: string;
  audioKbps: number;
  /** The input stream's audio is AAC: copied (no re-encode, no priming shift); else encoded. */
  copyAudio: boolean;
}

/** A URL that never answers is given up after this long (ffmpeg's rw_timeout, µs). */
const RW_TIMEOUT_US = '5000000';

/**
 * The ffmpeg command line of a transcode job: one process decodes the input once, a split
 * filter hands the same pictures to one libx264 per output, and each output is FLV (video,
 * plus the input's audio) on its own pipe, fd 3, 4, ...
 *
 * Keyframes are aligned across outputs so a player can move between renditions at any of
 * them: every encoder is forced to a keyframe at the same instants (force_key_frames on the
 * pictures' own timestamps, which -copyts keeps equal to the input's) and never elsewhere (a
 * GOP as long as the interval, no scene cut, no B-frames). -copyts also keeps each output
 * frame's pts equal to its input frame's, which is how the job finds capture times and delay.
 *
 * A stream input arrives as FLV on stdin (StreamFeed); a file or URL is read by ffmpeg itself,
 * files at their own rate (-re), looped with `loop`.
 */
export function transcodeArgs(o: TranscodeArgsOptions): string[] {
  const n = o.outputs.length;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error'];
  if ('stream' in o.input) {
    args.push('-fflags', '+nobuffer', '-analyzeduration', '1000000', '-probesize', '1000000', '-copyts', '-f', 'flv', '-i', 'pipe:0');
  } else {
    const url = o.input.url;
    const network = /^[a-z]+:\/\//i.test(url);
    if (network) args.push('-rw_timeout', RW_TIMEOUT_US);
    if (!network) args.push('-re');
    if (o.input.loop) args.push('-stream_loop', '-1');
    args.push('-i', url);
  }
  const gop = Math.max(1, Math.round(o.fps * o.gopSeconds));
  const labels = o.outputs.map((_, i) => `[s${i}]`).join('');
  const scales = o.outputs.map((out, i) => `[s${i}]scale=-2:${out.height},format=yuv420p[v${i}]`).join(';');
  args.push('-filter_complex', `[0:v:0]split=${n}${labels};${scales}`);
  o.outputs.forEach((out, i) => {
    args.push('-map', `[v${i}]`, '-map', '0:a:0?');
    // No -r: frames keep their input timestamps (passthrough), so pts maps back to the input.
    args.push('-c:v', 'libx264', '-preset', o.preset, '-tune', 'zerolatency', '-bf', '0', '-fps_mode', 'passthrough', '-enc_time_base', '-1',
      '-b:v', `${out.kbps}k`, '-maxrate', `${out.kbps}k`, '-bufsize', `${Math.max(50, Math.round(out.kbps / 2))}k`,
      // A GOP longer than the interval: keyframes come only where they are forced.
      '-g', String(gop * 2), '-keyint_min', String(gop), '-sc_threshold', '0',
      '-force_key_frames', `expr:gte(t,n_forced*${o.gopSeconds})`);
    if (o.copyAudio) args.push('-c:a', 'copy');
    else args.push('-c:a', 'aac', '-b:a', `${o.audioKbps}k`, '-ar', '48000', '-ac', '2');
    // flush_packets: each frame leaves at once; ffmpeg's 32 KiB pipe buffer would hold a
    // 100 kbit/s rendition's frames for seconds (and its keyframes behind the others').
    args.push('-flush_packets', '1', '-flvflags', 'no_duration_filesize', '-f', 'flv', `pipe:${3 + i}`);
  });
  return args;
}
