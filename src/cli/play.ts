import { createWriteStream } from 'node:fs';
import { Option, type Command } from 'commander';
import { latencyFlag } from './options.js';

interface PlayFlags {
  format: 'flv' | 'ts';
  output?: string;
  encrypt: 'none' | 'headers' | 'all';
  tcp: boolean;
  stats: boolean;
  latency?: string;
  quality?: string;
  p2p: boolean;
}

/** `tributary play URL`: the transport's low-delay path to a native player (FLV or TS on stdout). */
export function registerPlay(program: Command): void {
  program
    .command('play')
    .description('receive a stream over the transport and write FLV or MPEG-TS to stdout (pipe into ffplay -)')
    .argument('<url>', 'tributary://HOST[:PORT]/APP/KEY[?token=TOKEN][&latency=MS][&quality=auto|source|NAME]')
    .addOption(new Option('--format <format>', 'container').choices(['flv', 'ts']).default('flv'))
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .addOption(new Option('--encrypt <mode>', 'encryption').choices(['none', 'headers', 'all']).default('all'))
    .option('--tcp', 'use the TCP fallback only', false)
    .option('--stats', 'print frame age and counts to stderr once a second', false)
    .option('--p2p', 'join the stream\'s P2P swarm (URL: http://HOST[:PORT]/APP/KEY[?token=T]); FLV only; falls back to the edge\'s FLV', false)
    // No default here: a default would hide the URL's latency= (the flag wins only when given).
    .option('--latency <ms>', 'delivery deadline the server gives each frame, 50..60000 (default: the URL\'s latency=, else the server\'s, 600)')
    .option('--quality <name>', 'on a stream with a quality ladder: auto (the server switches renditions at keyframes by what this session carries), source, or a rendition\'s name (default: the URL\'s quality=, else the stream itself)')
    .action(async (url: string, flags: PlayFlags) => {
      const latencyMs = flags.latency === undefined ? undefined : latencyFlag(flags.latency);
      if (latencyMs === null) {
        process.stderr.write('tributary play: --latency must be a whole number of ms, 50..60000\n');
        process.exit(2);
      }
      if (flags.p2p) return playP2p(url, flags);
      const { QUALITY_NAME } = await import('../media/tributary/messages.js');
      if (flags.quality !== undefined && !QUALITY_NAME.test(flags.quality)) {
        process.stderr.write('tributary play: --quality must be auto, source or a rendition name (1-32 of A-Z a-z 0-9 _ -)\n');
        process.exit(2);
      }
      const { Player } = await import('../client/play/Player.js');
      const { defaultKnownHostsFile } = await import('../net/knownHosts.js');
      const out = flags.output ? createWriteStream(flags.output) : process.stdout;
      out.on('error', () => process.exit(0)); // the reader went away (ffplay closed): done
      let player;
      try {
        player = await Player.start(url, {
          format: flags.format,
          encryption: flags.encrypt,
          tcp: flags.tcp ? 'force' : 'auto',
          latencyMs,
          quality: flags.quality,
          knownHosts: defaultKnownHostsFile(),
          warn: (m) => process.stderr.write(`tributary play: ${m}\n`),
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

/** `play --p2p`: a Node peer of the swarm; the share of bytes from peers goes to stderr. */
async function playP2p(url: string, flags: PlayFlags): Promise<void> {
  const { P2pPeer } = await import('../client/p2p/P2pPeer.js');
  const { playEdgeFlv } = await import('../client/p2p/edgeFlv.js');
  const out = flags.output ? createWriteStream(flags.output) : process.stdout;
  out.on('error', () => process.exit(0));
  const write = (b: Uint8Array): void => void out.write(b);
  let peer;
  try {
    peer = new P2pPeer({ url, write });
  } catch (err) {
    process.stderr.write(`tributary play: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const p = peer;
  const line = (): string => {
    const s = p.stats;
    return `p2p: ${(s.share * 100).toFixed(1)}% from peers (${s.peerBytes} peer / ${s.edgeBytes} edge bytes), ${s.played} played, ${s.missed} missed, ${s.channels} channels, ${s.wireErrors + s.links.garbage} garbage dropped`;
  };
  const timer = flags.stats ? setInterval(() => process.stderr.write(line() + '\n'), 1000) : undefined;
  const stop = (): void => p.stop('stopped');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const reason = await p.ended;
  if (timer) clearInterval(timer);
  process.stderr.write(`tributary play: ${reason}\n${line()}\n`);
  // It never played: the edge's FLV, as a viewer without P2P gets it.
  if (!p.stats.started && reason !== 'stopped') {
    process.stderr.write('tributary play: playing from the edge instead\n');
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    const r = await playEdgeFlv(url, write, ac.signal).catch((err: Error) => err.message);
    process.stderr.write(`tributary play: ${r}\n`);
  }
  if (flags.output) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(() => r()));
  process.exit(0);
}
