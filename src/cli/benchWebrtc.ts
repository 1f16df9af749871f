import type { Command } from 'commander';
import { benchCommand, num } from './options.js';

/** `tributary bench webrtc`: Chromium WHIP -> server -> Chromium WHEP and an HTTP-FLV viewer, capture-to-display delay. */
export function registerBenchWebrtc(program: Command): void {
  benchCommand(program)
    .command('webrtc')
    .description('capture-to-display delay: Chromium publishes with WHIP (time drawn in the frames), a Chromium page plays with WHEP, ffmpeg reads HTTP-FLV; Opus->AAC transcode delay')
    .option('--duration <s>', 'seconds of readings', num, 20)
    .option('--no-whep-audio', 'the WHEP page takes video only (to see what lip sync adds)')
    .option('--json', 'end with one JSON line', false)
    .action(async (o: { duration: number; whepAudio: boolean; json: boolean }) => {
      const { runWebrtcBench, formatWebrtc } = await import('../bench/webrtc/run.js');
      const r = await runWebrtcBench(o);
      console.log(formatWebrtc(r));
      if (o.json) console.log(JSON.stringify(r.result));
      process.exit(0);
    });
}
