import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { TransportClient, TransportServer, type ReceivedMessage } from '../../src/net/index.js';

const quiet = { warn: () => {}, debug: () => {} };
const OPEN = 'tributary-open-stream';

/**
 * A source on one IP (test/net/floodSource.ts, in a process of its own so it floods as fast
 * as it can without sharing this event loop) that opens handshakes and never finishes one.
 * It prints one JSON line of counts when told to stop.
 */
class Flooder {
  private child: ChildProcess | undefined;
  hellos = 0;
  serverHellos = 0;

  constructor(private readonly ip: string, private readonly port: number) {}

  async start(sockets: number): Promise<void> {
    this.child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./floodSource.ts', import.meta.url)), this.ip, '127.0.0.1', String(this.port), String(sockets)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const [line] = (await once(this.child.stdout!, 'data')) as [Buffer];
    assert.match(line.toString(), /^flooding/);
  }

  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    const out: Buffer[] = [];
    this.child.stdout!.on('data', (d: Buffer) => out.push(d));
    this.child.stdin!.end();
    await once(this.child, 'exit');
    const last = Buffer.concat(out).toString().trim().split('\n').pop() ?? '{}';
    const r = JSON.parse(last) as { hellos: number; serverHellos: number };
    this.hellos = r.hellos;
    this.serverHellos = r.serverHellos;
  }
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('one address flooding half-open handshakes (many ports) does not hold a real client on another address out', { timeout: 30_000 }, async () => {
  const server = await TransportServer.listen({
    port: 0,
    host: '127.0.0.1',
    tcp: false,
    resolvePsk: (id) => (id === 'live/cam' ? 'cam-token' : id === 'live/open' ? { psk: OPEN, open: true } : undefined),
    logger: quiet,
  });
  const got: ReceivedMessage[] = [];
  server.on('session', (s) => s.on('message', (m) => got.push(m)));
  const flood = new Flooder('127.0.0.5', server.port);
  let client: TransportClient | undefined;
  const connect = (): Promise<TransportClient> =>
    TransportClient.connect({ host: '127.0.0.1', port: server.port, links: ['127.0.0.2'], psk: 'cam-token', identity: 'live/cam', tcp: 'never', connectTimeoutMs: 5000, logger: quiet });
  try {
    // A server that has run a while: its handshake code is compiled before the flood comes.
    await (await connect()).close();
    await flood.start(4);
    // The flood has its share of the table and keeps knocking (every further hello is refused).
    await until(() => (server.dropped['half-open-per-address'] ?? 0) + (server.dropped['half-open-limit'] ?? 0) > 1000, 10_000, 'the flood reaching a limit');
    const t0 = performance.now();
    client = await connect();
    const handshakeMs = performance.now() - t0;
    for (let i = 0; i < 20; i++) client.session.sendFrame({ kind: 'control', data: new Uint8Array([i]) });
    await until(() => got.length === 20, 3000, 'the client\'s 20 messages');
    await flood.stop();
    console.log(`handshake under flood: ${handshakeMs.toFixed(0)} ms; flood sent ${flood.hellos} hellos, got ${flood.serverHellos} server hellos; server drops ${JSON.stringify(server.dropped)}; recv buffer ${server.recvBufferBytes}`);
    assert.ok(handshakeMs < 1000, `handshake took ${handshakeMs.toFixed(0)} ms`);
    assert.deepEqual(got.map((m) => m.data[0]).sort((a, b) => a! - b!), [...Array(20).keys()]);
    // The flood's sessions were capped by its IP, not by each of its four ports.
    assert.ok(flood.serverHellos > 0 && flood.serverHellos <= 16, `the flooding address got ${flood.serverHellos} sessions`);
  } finally {
    await client?.close();
    await flood.stop();
    await server.close();
  }
});

test('the server socket asks for a receive buffer above the default', async () => {
  const server = await TransportServer.listen({ port: 0, host: '127.0.0.1', tcp: false, resolvePsk: () => undefined, logger: quiet });
  try {
    assert.ok(server.recvBufferBytes >= 1024 * 1024, `recv buffer ${server.recvBufferBytes}`);
  } finally {
    await server.close();
  }
});
