/**
 * Bonding over real sockets: a client with three local links (127.0.0.2, .3, .4, one UDP
 * socket bound to each) sends through one emulator per link (UdpLinkProxy bySource) to a
 * TransportServer. Killing a link mid-stream must lose no frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransportClient, TransportServer, type ReceivedMessage, type TransportSession } from '../../src/net/index.js';
import { UdpLinkProxy } from '../../src/emulator/UdpLinkProxy.js';
import { RateBottleneck } from '../../src/emulator/Bottleneck.js';

const PSK = 'publish-token-of-live/cam';
const quiet = { warn: () => {}, debug: () => {} };
const LINKS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('three links on loopback addresses, aggregate: a link killed mid-stream costs no frame, and every link carried media before', async () => {
  const server = await TransportServer.listen({ port: 0, host: '127.0.0.1', resolvePsk: (id) => (id === 'live/cam' ? PSK : undefined), logger: quiet });
  const sessions: TransportSession[] = [];
  const got = new Map<number, number>();
  server.on('session', (s) => {
    sessions.push(s);
    s.on('message', (m: ReceivedMessage) => {
      const tag = new DataView(m.data.buffer, m.data.byteOffset).getUint32(0);
      got.set(tag, (got.get(tag) ?? 0) + 1);
    });
  });
  // Each link: 2 Mbit/s up with 40 ms RTT; the stream (about 1.3 Mbit/s) needs more than one.
  const link = () => ({ up: { delayMs: 20, bottleneck: new RateBottleneck(2e6), queueBytes: 60_000 }, down: { delayMs: 20 } });
  const proxy = new UdpLinkProxy({ target: { host: '127.0.0.1', port: server.port }, up: {}, down: {}, bySource: Object.fromEntries(LINKS.map((ip) => [ip, link()])) });
  const proxyPort = await proxy.listen();
  const client = await TransportClient.connect({
    host: '127.0.0.1', port: server.port, udpPort: proxyPort, links: LINKS, bond: 'aggregate', tcp: 'never',
    psk: PSK, identity: 'live/cam', initialBitrateBps: 2_000_000, logger: quiet,
  });
  const downs: string[] = [];
  client.session.on('path-down', (p: string) => downs.push(p));
  let n = 0;
  // 30 fps video of ~5 KB (a keyframe of 30 KB every 30 frames) and 50 audio frames/s.
  const video = setInterval(() => {
    const size = n % 30 === 0 ? 30_000 : 5_000;
    const data = new Uint8Array(size);
    new DataView(data.buffer).setUint32(0, n);
    client.session.sendFrame({ kind: 'video', data, keyframe: n % 30 === 0, deadlineMs: 1500 });
    n++;
  }, 33);
  try {
    await sleep(3000);
    const before = sessions[0]!.stats().paths.filter((p) => p.bytesReceived > 50_000);
    assert.equal(before.length, 3, `the server received media on every link: ${JSON.stringify(sessions[0]!.stats().paths.map((p) => [p.path, p.bytesReceived]))}`);
    proxy.blockSource('127.0.0.2');
    const killedAt = n;
    await sleep(3000);
    clearInterval(video);
    const sent = n;
    await until(() => got.size === sent, 4000, `all ${sent} frames (have ${got.size})`);
    assert.ok(downs.includes('127.0.0.2'), `the dead link was taken down: ${downs.join(', ')}`);
    for (let i = 0; i < sent; i++) assert.equal(got.get(i), 1, `frame ${i} delivered once (link killed at frame ${killedAt})`);
  } finally {
    clearInterval(video);
    await client.close();
    await server.close();
    proxy.close();
  }
});
