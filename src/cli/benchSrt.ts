import type { Command } from 'commander';
import { benchCommand, num } from './options.js';

/** `tributary bench srt`: an ffmpeg/libsrt caller through the link emulator into Tributary's SRT listener and srt-live-transmit, judged by a decoder. */
export function registerBenchSrt(program: Command): void {
  benchCommand(program)
    .command('srt')
    .description('SRT ingest over an emulated lossy link: Tributary\'s listener vs srt-live-transmit (libsrt), same caller, same bytes')
    .option('--rtt <ms>', 'round-trip propagation delay', num, 300)
    .option('--loss <pct>', 'random loss each way, percent', num, 2)
    .option('--latency <ms>', 'SRT latency on caller and receivers', num, 600)
    .option('--duration <s>', 'seconds of media', num, 60)
    .option('--warmup <s>', 'seconds sent before the judged ones', num, 3)
    .option('--bitrate <mbps>', 'video bitrate', num, 1)
    .option('--seed <n>', 'link emulator seed', num, 1)
    .option('--json', 'end with one JSON line per receiver', false)
    .action(async (o: { rtt: number; loss: number; latency: number; duration: number; warmup: number; bitrate: number; seed: number; json: boolean }) => {
      const { benchSrt } = await import('../bench/srt/run.js');
      const { formatColumns } = await import('../bench/table.js');
      const results = await benchSrt(o);
      console.log(`SRT ingest: rtt ${o.rtt} ms, loss ${o.loss}% each way, latency ${o.latency} ms, ${o.duration} s judged after ${o.warmup} s, video ${o.bitrate} Mbit/s`);
      console.log(formatColumns(results.map((r) => r.impl), results, [
        ['decodedRatio', (r) => r.decodedRatio.toFixed(4)],
        ['frames decoded / sent', (r) => `${r.detail.framesDecoded} / ${r.detail.framesSent}`],
        ['exactRatio', (r) => (r.detail.framesExact / r.detail.framesSent).toFixed(4)],
        ['frames exact / sent', (r) => `${r.detail.framesExact} / ${r.detail.framesSent}`],
        ['serverDelay p50 ms', (r) => String(r.serverDelayMs.p50)],
        ['serverDelay p95 ms', (r) => String(r.serverDelayMs.p95)],
        ['payloads delivered', (r) => String(r.detail.payloads)],
        ['packets lost on link', (r) => String(r.detail.lostOnLink)],
        ['SRT resends received', (r) => (r.detail.receiver ? String(r.detail.receiver.retransmitted) : '-')],
        ['SRT packets given up', (r) => (r.detail.receiver ? String(r.detail.receiver.dropped) : '-')],
      ]));
      if (o.json) for (const r of results) console.log(JSON.stringify({ impl: r.impl, decodedRatio: r.decodedRatio, serverDelayMs: r.serverDelayMs }));
      process.exit(0);
    });
}
