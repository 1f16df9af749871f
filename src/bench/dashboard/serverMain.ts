/**
 * The dashboard bench's server, in a process of its own so the load generators (pushers,
 * senders, viewers) do not slow the pages it serves: a Server on loopback whose sampler is
 * also driven every `sampleMs` (argv[2], JSON `{ sampleMs, dir }`), to fill its history with
 * real samples in seconds. Prints its ports as one JSON line, then runs until SIGTERM.
 */
import { join } from 'node:path';
import { parseConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { Server } from '../../server/Server.js';

const o = JSON.parse(process.argv[2] ?? '{}') as { sampleMs: number; dir: string };
const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, transport: { keyFile: join(o.dir, 'server.key') } }), { logger: createLogger('warn') });
const ports = await server.start();
let filling: NodeJS.Timeout | undefined;
process.stdin.setEncoding('utf8');
// "fill" on stdin starts the fast sampling (once the streams are live); each later line asks for the tick count.
process.stdin.on('data', (line: string) => {
  if (line.trim() === 'fill') filling ??= setInterval(() => server.stats.sample(Date.now()), o.sampleMs);
  process.stdout.write(JSON.stringify({ ticks: server.stats.ticks, streams: server.stats.streamCount }) + '\n');
});
process.stdout.write(JSON.stringify(ports) + '\n');
process.on('SIGTERM', () => {
  clearInterval(filling);
  void server.close().then(() => process.exit(0));
});
