/*
 * The server side of slowViewers.test.ts, in a process of its own so the event-loop delay it
 * reports is the server's alone: a Server on loopback with the fixture pumped in real time into
 * live/slow. Prints {"port": N} once listening; then answers each line on stdin:
 *   reset  -> starts the event-loop delay histogram afresh
 *   stats  -> {"maxDelayMs", "p99DelayMs", "viewers": [{remote, protocol, skipped, bytes}], "joined", "cpuMs" (since reset), "rssMB"}
 * argv[2]: JSON of config overrides (viewer.stallCutMs, ...).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';
import { fixture, Pump } from './fixture.js';

const overrides = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const server = new Server(
  parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, http: { maxConnections: 20_000 }, ...overrides }),
  { logger: createLogger('silent') },
);
const { httpPort } = await server.start();
const stream = server.registry.app('live').stream('slow');
new Pump(stream, fixture()).start();
let joined = 0;
stream.on('subscribe', () => joined++);
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
process.stdout.write(JSON.stringify({ port: httpPort }) + '\n');

let cpuAtReset = process.cpuUsage();
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'reset') {
    delay.reset();
    cpuAtReset = process.cpuUsage();
    return void process.stdout.write('{}\n');
  }
  if (line === 'stats') {
    const viewers = [...stream.subscribers.values()].map((s) => ({ remote: s.remoteAddress, protocol: s.protocol, skipped: s.skippedFrames, bytes: s.bytesSent }));
    process.stdout.write(JSON.stringify({
      maxDelayMs: delay.max / 1e6, p99DelayMs: delay.percentile(99) / 1e6, viewers, joined, cpuMs: Math.round((process.cpuUsage(cpuAtReset).user + process.cpuUsage(cpuAtReset).system) / 1000), rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    }) + '\n');
  }
});
process.stdin.on('end', () => process.exit(0));
