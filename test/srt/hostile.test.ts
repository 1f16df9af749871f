// Hostile input on the real UDP port: floods of junk, truncated and forged handshakes leave no
// state, are counted, and a real caller still gets in right after.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { Server } from '../../src/server/Server.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { stop, waitFor } from '../server/http/tools.js';
import { mutate, xorshift } from '../fuzz.js';
import { conclusion, induction } from './caller.js';
import { pushSrt } from './tools.js';

const PORT = 22050;
let server: Server;

before(async () => {
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: PORT } }), { logger: createLogger('silent') });
  await server.start();
});

after(async () => {
  await server?.close();
});

test('a flood of junk, truncated packets and forged cookies is counted and keeps no state; a real caller gets in after', async () => {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  let answers = 0;
  s.on('message', () => answers++);
  const rnd = xorshift(5);
  const buf = new Uint8Array(4096);
  const seeds = [induction(), conclusion(0xdeadbeef, { streamId: '#!::r=live/x,m=publish' }).datagram, conclusion(1, { rawSid: new Uint8Array(1200).fill(0x61) }).datagram];
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 20_000; i++) {
    const kind = i % 4;
    let d: Uint8Array;
    if (kind === 0) d = seeds[1]!; // forged cookie
    else if (kind === 1) d = seeds[0]!; // induction flood
    else d = buf.slice(0, mutate(seeds[i % 3]!, buf, rnd));
    s.send(d, PORT, '127.0.0.1');
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 500));
  s.close();
  const c = server.srt!.counters;
  console.log(JSON.stringify({ counters: c, answers, rssGrowthMB: (process.memoryUsage().rss - before) / 1e6 }));
  assert.equal(server.srt!.listener.connections.size, 0);
  assert.ok((c['bad cookie'] ?? 0) > 0, 'forged cookies counted');
  assert.ok((c['handshake rate'] ?? 0) > 1000, 'the flood was throttled');
  assert.ok(answers < 500, `answered ${answers} of 20000`);
  // The flooder's address (127.0.0.1) is throttled for a second; a caller after that gets in.
  await new Promise((r) => setTimeout(r, 1100));
  const push = pushSrt(`srt://127.0.0.1:${PORT}?streamid=live/after`, 6);
  try {
    await waitFor('the publish after the flood', () => ((server.registry.find('live', 'after')?.framesIn ?? 0) > 20 ? true : undefined), 10_000);
  } finally {
    await stop(push);
  }
});
