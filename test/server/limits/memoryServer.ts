/*
 * The server side of the input-limit tests, in a process of its own so that its memory is the
 * server's alone (and an attack that blows its heap kills it, not the test runner): a Server on
 * loopback. Prints {"rtmpPort", "httpPort"} once listening; warn lines go to stderr (pino JSON).
 * Then answers each line on stdin:
 *   mem -> {"rss", "heapUsed", "arrayBuffers", "budgetUsed", "budgetPeak", "rtmp": stats, "http": refusedBy}
 *          (after a full GC: what is still held, not what awaits collection)
 * argv[2]: JSON of config overrides (limits.*, ...). Run with --expose-gc.
 */
import { createInterface } from 'node:readline';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';

const overrides = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, ...overrides }), { logger: createLogger('warn', process.stderr) });
const { rtmpPort, httpPort } = await server.start();
process.stdout.write(JSON.stringify({ rtmpPort, httpPort }) + '\n');

const gc = (globalThis as { gc?: () => void }).gc;
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'mem') return;
  gc?.();
  const m = process.memoryUsage();
  process.stdout.write(JSON.stringify({
    rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers,
    budgetUsed: server.budget.used, budgetPeak: server.budget.peak,
    rtmp: server.rtmp.snapshot(), http: server.http.refusedBy,
  }) + '\n');
});
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
