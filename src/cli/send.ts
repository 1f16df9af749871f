import { Option, type Command } from 'commander';

interface SendFlags {
  latency: string;
  encrypt: 'none' | 'headers' | 'all';
  tcp: boolean;
  link: string[];
  bond?: 'aggregate' | 'redundant' | 'auto';
  loop: boolean;
  statsJson: boolean;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const mbps = (bps: number): string => (bps / 1e6).toFixed(2);

/** `tributary send INPUT URL`: the broadcaster's side, from an encoder to a server over the transport. */
export function registerSend(program: Command): void {
  program
    .command('send')
    .description('carry a live stream from an encoder to a server over the transport')
    .argument('<input>', 'rtmp://127.0.0.1:1936/live/key (OBS/ffmpeg push here), - (MPEG-TS on stdin), udp://127.0.0.1:5000 (MPEG-TS), or a .flv/.ts file')
    .argument('<output>', 'tributary://HOST[:PORT]/APP/KEY[?token=TOKEN]')
    .option('--latency <ms>', 'delivery deadline of each frame from its capture', '600')
    .addOption(new Option('--encrypt <mode>', 'encryption: none, headers (media readable, control secret), all').choices(['none', 'headers', 'all']).default('all'))
    .option('--tcp', 'force the TCP fallback', false)
    .option('--link <address>', 'a local address or interface to send from (repeat for several links)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .addOption(new Option('--bond <mode>', 'with several --link: aggregate (spread by capacity), redundant (every packet on every link), auto (copies of audio, keyframes and late retransmissions)').choices(['aggregate', 'redundant', 'auto']))
    .option('--loop', 'play a file input in a loop', false)
    .option('--stats-json', 'one JSON status object per second on stdout', false)
    .action(async (input: string, output: string, flags: SendFlags) => {
      const { Sender } = await import('../client/send/Sender.js');
      const latencyMs = Number(flags.latency);
      if (!Number.isInteger(latencyMs) || latencyMs < 50 || latencyMs > 60_000) {
        process.stderr.write('tributary send: --latency must be 50..60000 ms\n');
        process.exit(2);
      }
      let sender;
      try {
        sender = await Sender.start({
          input,
          output,
          latencyMs,
          encryption: flags.encrypt,
          tcp: flags.tcp,
          links: flags.link.length ? flags.link : undefined,
          bond: flags.bond,
          loop: flags.loop,
          log: (line) => process.stderr.write(`tributary send: ${line}\n`),
        });
      } catch (err) {
        process.stderr.write(`tributary send: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const s = sender;
      process.stderr.write(`tributary send: ${s.inputDescription} -> ${output.replace(/token=[^&]+/, 'token=...')}\n`);
      const timer = setInterval(() => {
        const st = s.status();
        if (flags.statsJson) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...st })}\n`);
        const line =
          `${st.state} ${st.transport} | rtt ${st.rttMs} ms | loss ${pct(st.lossBeforeRepair)} -> ${pct(st.lossAfterRepair)} | ` +
          `fec ${pct(st.fecShare)} rtx ${pct(st.retransmitShare)} | ${mbps(st.sendingBps)}/${mbps(st.targetBps)} Mbit/s (target) | ` +
          `frames ${st.framesSent}/${st.framesIn} dropped ${st.framesDropped}`;
        // With several links, a row per link under the summary (state, RTT, loss, share, rate).
        const rows = st.links.length > 1
          ? st.links.map((l) => `\n  ${l.link.padEnd(16)} ${l.state.padEnd(8)} rtt ${String(l.rttMs).padStart(5)} ms  loss ${pct(l.loss).padStart(6)}  share ${pct(l.share).padStart(6)}  ${mbps(l.sendingBps)} Mbit/s`).join('')
          : '';
        process.stderr.write(process.stderr.isTTY && !rows ? `\r${line}\x1b[K` : `${line}${rows}\n`);
      }, 1000);
      const stop = (): void => void s.close('interrupted');
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const reason = await s.ended;
      clearInterval(timer);
      process.stderr.write(`\ntributary send: ${reason}\n`);
      process.exit(/expired|refused/.test(reason) ? 1 : 0);
    });
}
