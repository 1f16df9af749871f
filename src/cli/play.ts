import { createWriteStream } from 'node:fs';
import { Option, type Command } from 'commander';

interface PlayFlags {
  format: 'flv' | 'ts';
  output?: string;
  encrypt: 'none' | 'headers' | 'all';
  tcp: boolean;
  stats: boolean;
}

/** `tributary play URL`: the transport's low-delay path to a native player (FLV or TS on stdout). */
export function registerPlay(program: Command): void {
  program
    .command('play')
    .description('receive a stream over the transport and write FLV or MPEG-TS to stdout (pipe into ffplay -)')
    .argument('<url>', 'tributary://HOST[:PORT]/APP/KEY[?token=TOKEN]')
    .addOption(new Option('--format <format>', 'container').choices(['flv', 'ts']).default('flv'))
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .addOption(new Option('--encrypt <mode>', 'encryption').choices(['none', 'headers', 'all']).default('all'))
    .option('--tcp', 'use the TCP fallback only', false)
    .option('--stats', 'print frame age and counts to stderr once a second', false)
    .action(async (url: string, flags: PlayFlags) => {
      const { Player } = await import('../client/play/Player.js');
      const out = flags.output ? createWriteStream(flags.output) : process.stdout;
      out.on('error', () => process.exit(0)); // the reader went away (ffplay closed): done
      let player;
      try {
        player = await Player.start(url, {
          format: flags.format,
          encryption: flags.encrypt,
          tcp: flags.tcp ? 'force' : 'auto',
          write: (chunk) => out.write(chunk),
        });
      } catch (err) {
        process.stderr.write(`tributary play: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const p = player;
      out.on('drain', () => p.drained());
      const timer = flags.stats
        ? setInterval(() => {
            const s = p.stats;
            process.stderr.write(`play: ${s.frames} frames, ${s.skipped} skipped, ${Math.round(s.bytes / 1024)} KiB, frame age ${s.lastAgeMs === undefined ? '-' : Math.round(s.lastAgeMs)} ms\n`);
          }, 1000)
        : undefined;
      const stop = (): void => void p.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const reason = await p.ended;
      if (timer) clearInterval(timer);
      process.stderr.write(`tributary play: ${reason}\n`);
      await p.close();
      if (flags.output) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(() => r()));
      process.exit(0);
    });
}
