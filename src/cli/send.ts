import { Option, type Command } from 'commander';
import { ccFactory, type CcName } from '../transport/cc/select.js';
import { latencyFlag } from './options.js';

interface SendFlags {
  latency?: string;
  encrypt: 'none' | 'headers' | 'all';
  tcp: boolean;
  link: string[];
  bond?: 'aggregate' | 'redundant' | 'auto';
  loop: boolean;
  statsJson: boolean;
  encode: boolean;
  inputFormat?: string;
  ladder?: string;
  fps: string;
  size?: string;
  preset: string;
  audio: boolean;
  server: string[];
  backup?: string;
  cc: string;
}

/** The encoder ladder of `--encode`, from the flags (ffmpeg must be installed: apt-get install ffmpeg). */
async function encoderInput(input: string, f: SendFlags, log: (line: string) => void): Promise<import('../client/send/EncoderInput.js').EncoderInput> {
  const { EncoderInput } = await import('../client/send/EncoderInput.js');
  const { encoderSource, DEFAULT_LADDER_KBPS } = await import('../client/send/encoderArgs.js');
  const ladderKbps = f.ladder ? f.ladder.split(',').map(Number) : DEFAULT_LADDER_KBPS;
  if (ladderKbps.length < 1 || ladderKbps.length > 10 || ladderKbps.some((k, i) => !Number.isInteger(k) || k < 50 || k > 50_000 || (i > 0 && k <= ladderKbps[i - 1]!))) {
    throw new Error('--ladder must be 1..10 rising bitrates of 50..50000 kbit/s, e.g. 200,450,900,1750,2500');
  }
  const fps = Number(f.fps);
  if (!Number.isInteger(fps) || fps < 1 || fps > 120) throw new Error('--fps must be 1..120');
  const size = f.size?.match(/^(\d{2,5})x(\d{2,5})$/);
  if (f.size && !size) throw new Error('--size must be WIDTHxHEIGHT, e.g. 1280x720');
  if (!/^[a-z]+$/.test(f.preset)) throw new Error('--preset must be an x264 preset name, e.g. ultrafast, veryfast');
  return new EncoderInput({
    source: encoderSource(input, { format: f.inputFormat, loop: f.loop }),
    ladderKbps, audioKbps: 64, audio: f.audio, fps, preset: f.preset,
    width: size ? Number(size[1]) : undefined, height: size ? Number(size[2]) : undefined,
    log,
  });
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The backup's row of the status line, with what publishing twice costs the uplink. */
function backupLine(b: import('../client/send/Sender.js').SenderStatus, mainBps: number): string {
  return `\n  backup ${b.state} ${b.server} | rtt ${b.rttMs} ms | ${mbps(b.sendingBps)} Mbit/s | frames ${b.framesSent}/${b.framesIn} dropped ${b.framesDropped}` +
    ` | uplink ${mbps(mainBps + b.sendingBps)} Mbit/s in all: the backup costs ${mbps(b.sendingBps)} Mbit/s (x${mainBps > 0 ? ((mainBps + b.sendingBps) / mainBps).toFixed(1) : '2'})`;
}
const mbps = (bps: number): string => (bps / 1e6).toFixed(2);

/** `tributary send INPUT URL`: the broadcaster's side, from an encoder to a server over the transport. */
export function registerSend(program: Command): void {
  program
    .command('send')
    .description('carry a live stream from an encoder to a server over the transport')
    .argument('<input>', 'rtmp://127.0.0.1:1936/live/key (OBS/ffmpeg push here), - (MPEG-TS on stdin), udp://127.0.0.1:5000 (MPEG-TS), or a .flv/.ts file')
    .argument('<output>', 'tributary://HOST[:PORT]/APP/KEY[?token=TOKEN][&fp=FINGERPRINT from tributary serve]')
    // No default here: a default would hide the URL's latency= (the flag wins only when given).
    .option('--latency <ms>', 'delivery deadline of each frame from its capture, 50..60000 (default: the URL\'s latency=, else 600)')
    .addOption(new Option('--encrypt <mode>', 'encryption: none, headers (media readable, control secret), all').choices(['none', 'headers', 'all']).default('all'))
    .option('--tcp', 'force the TCP fallback', false)
    .option('--link <address>', 'a local address or interface to send from (repeat for several links)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(new Option('--bond <mode>', 'with several --link: aggregate (spread by capacity), redundant (every packet on every link), auto (copies of audio, keyframes and late retransmissions)').choices(['aggregate', 'redundant', 'auto']))
    .addOption(new Option('--cc <name>', 'congestion controller of each link: delay (delay and loss; default) or capacity (follows what the link delivers: more of a bonded cellular uplink with --encode, more freezes on one link; docs/benchmarks.md)').choices(['delay', 'capacity']).default('delay'))
    .option('--loop', 'play a file input in a loop', false)
    .option('--stats-json', 'one JSON status object per second on stdout', false)
    .option('--encode', 'run the encoder here (ffmpeg, x264 ladder) so the bitrate follows the uplink; INPUT is then a file, a URL ffmpeg reads (rtmp://127.0.0.1:PORT/APP/KEY listens for OBS), or a device with --input-format', false)
    .option('--input-format <fmt>', 'with --encode: ffmpeg input format (v4l2 for /dev/video0, lavfi for a test pattern, ...)')
    .option('--ladder <kbps>', 'with --encode: video bitrates of the renditions, kbit/s, lowest first (default 100,200,300,450,650,900,1250,1750,2500)')
    .option('--fps <n>', 'with --encode: frame rate (a keyframe every second)', '30')
    .option('--size <WxH>', 'with --encode: picture size (default the input\'s)')
    .option('--preset <name>', 'with --encode: x264 preset', 'ultrafast')
    .option('--no-audio', 'with --encode: the input has no sound')
    .option('--server <url>', 'another address of the stream (tributary://OTHER/APP/KEY), moved to when the current server dies; repeat for several', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--backup <url>', 'publish to this server too, at the same time (main/backup publishing: tributary://OTHER/APP/KEY of an app with backup: true); the uplink carries the stream twice')
    .action(async (input: string, output: string, flags: SendFlags) => {
      const { Sender } = await import('../client/send/Sender.js');
      const { defaultKnownHostsFile } = await import('../net/knownHosts.js');
      const latencyMs = flags.latency === undefined ? undefined : latencyFlag(flags.latency);
      if (latencyMs === null) {
        process.stderr.write('tributary send: --latency must be 50..60000 ms\n');
        process.exit(2);
      }
      const log = (line: string): void => void process.stderr.write(`tributary send: ${line}\n`);
      let sender;
      let backup: import('../client/send/Sender.js').Sender | undefined;
      let media: string | import('../client/send/EncoderInput.js').EncoderInput = input;
      try {
        media = flags.encode ? await encoderInput(input, flags, log) : input;
        // --backup: one input, two senders (each with its own session, repair and reconnection).
        const tee = flags.backup ? new (await import('../client/send/TeeInput.js')).TeeInput(typeof media === 'string' ? (await import('../client/send/inputs.js')).openInput(media, { loop: flags.loop }) : media) : undefined;
        const common = {
          latencyMs,
          encryption: flags.encrypt,
          tcp: flags.tcp,
          links: flags.link.length ? flags.link : undefined,
          bond: flags.bond,
          loop: flags.loop,
          // Without ?fp= the server key is trusted on first use, as ssh does.
          knownHosts: defaultKnownHostsFile(),
          congestion: ccFactory(flags.cc as CcName),
        };
        sender = await Sender.start({
          ...common,
          input: tee ? tee.branch() : media,
          output,
          alternates: flags.server.length ? flags.server : undefined,
          log,
        });
        if (tee && flags.backup) backup = await Sender.start({ ...common, input: tee.branch(), output: flags.backup, log: (line) => log(`backup: ${line}`) });
      } catch (err) {
        process.stderr.write(`tributary send: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const s = sender;
      const encoder = typeof media === 'string' ? undefined : media;
      const hideToken = (u: string): string => u.replace(/token=[^&]+/, 'token=...');
      process.stderr.write(`tributary send: ${s.inputDescription} -> ${hideToken(output)}${flags.server.length ? ` (then ${flags.server.map(hideToken).join(', ')} if it dies)` : ''}${flags.backup ? ` and, as backup, ${hideToken(flags.backup)}` : ''}\n`);
      // The Sender's own order (flag, then the URL's latency=, then 600), said once so a user sees which won.
      const fromUrl = (await import('../media/tributary/index.js')).parseTributaryUrl(output).latencyMs;
      process.stderr.write(`tributary send: frame deadline ${latencyMs ?? fromUrl ?? 600} ms from capture (${latencyMs !== undefined ? '--latency' : fromUrl !== undefined ? "the URL's latency=" : 'default'})\n`);
      const timer = setInterval(() => {
        const st = s.status();
        const enc = encoder?.status();
        if (flags.statsJson) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...st, encoder: enc, ...(backup ? { backup: backup.status() } : {}) })}\n`);
        const line =
          `${st.state} ${st.transport} | rtt ${st.rttMs} ms | loss ${pct(st.lossBeforeRepair)} -> ${pct(st.lossAfterRepair)} | ` +
          `fec ${pct(st.fecShare)} rtx ${pct(st.retransmitShare)} | ${mbps(st.sendingBps)}/${mbps(st.targetBps)} Mbit/s (target) | ` +
          `frames ${st.framesSent}/${st.framesIn} dropped ${st.framesDropped}` +
          (enc ? ` | encoder ${enc.bitrateBps / 1000} kbit/s (rung ${enc.rung + 1}/${enc.rungKbps.length}${enc.wantedRung !== enc.rung ? `, to ${enc.rungKbps[enc.wantedRung]} at the next keyframe` : ''})` : '') +
          (st.rateWarning ? `\n  ${st.rateWarning}` : '') +
          (backup ? backupLine(backup.status(), st.sendingBps) : '');
        // With several links, a row per link under the summary (state, RTT, loss, share, rate).
        const rows = st.links.length > 1
          ? st.links.map((l) => `\n  ${l.link.padEnd(16)} ${l.state.padEnd(8)} rtt ${String(l.rttMs).padStart(5)} ms  loss ${pct(l.loss).padStart(6)}  share ${pct(l.share).padStart(6)}  ${mbps(l.sendingBps)} Mbit/s`).join('')
          : '';
        process.stderr.write(process.stderr.isTTY && !rows && !st.rateWarning && !backup ? `\r${line}\x1b[K` : `${line}${rows}\n`);
      }, 1000);
      const stop = (): void => {
        void backup?.close('interrupted');
        void s.close('interrupted');
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const reason = await s.ended;
      await backup?.close(reason);
      clearInterval(timer);
      process.stderr.write(`\ntributary send: ${reason}\n`);
      process.exit(/expired|refused/.test(reason) ? 1 : 0);
    });
}
