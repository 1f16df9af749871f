import type { Command } from 'commander';
import { benchCommand, num } from './options.js';

/** `tributary bench latency`: hls.js (LL and plain) in Chromium and HTTP-FLV join, against an ffmpeg RTMP push. */
export function registerBenchLatency(program: Command): void {
  benchCommand(program)
    .command('latency')
    .description('how far behind live real players run: ffmpeg -> RTMP -> server -> hls.js in Chromium (LL-HLS and plain HLS), and HTTP-FLV join time')
    .option('--duration <s>', 'seconds of latency readings', num, 20)
    .option('--gop <s>', 'keyframe interval of the pushed stream, s', num, 1)
    .option('--json', 'end with one JSON line per client', false)
    .action(async (o) => {
      const { runLatency, formatLatency } = await import('../bench/latency/run.js');
      const results = await runLatency(o);
      console.log(formatLatency(results));
      if (o.json) for (const r of results) console.log(JSON.stringify(r));
      process.exit(0);
    });
}
