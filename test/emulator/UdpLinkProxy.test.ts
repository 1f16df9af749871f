import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { UdpLinkProxy } from '../../src/emulator/index.js';

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

test('forwards real UDP both ways on 127.0.0.1 with the configured delay; block() stops it', async () => {
  const server = await bound();
  const client = await bound();
  const proxy = new UdpLinkProxy({
    target: { host: '127.0.0.1', port: server.address().port },
    up: { delayMs: 40 },
    down: { delayMs: 60 },
  });
  const port = await proxy.listen();
  try {
    server.on('message', (m, r) => server.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
    const t0 = performance.now();
    client.send(Buffer.from('hello'), port, '127.0.0.1');
    const [reply] = (await once(client, 'message')) as [Buffer];
    const rtt = performance.now() - t0;
    assert.equal(reply.toString(), 'echo:hello');
    assert.ok(rtt >= 99 && rtt < 400, `rtt ${rtt}`);
    assert.equal(proxy.upLink.stats.delivered, 1);
    assert.equal(proxy.downLink.stats.delivered, 1);

    proxy.block();
    client.send(Buffer.from('lost'), port, '127.0.0.1');
    const [dir, copies] = await once(proxy, 'datagram');
    assert.deepEqual([dir, copies], ['up', 0]);
    proxy.unblock();
    client.send(Buffer.from('again'), port, '127.0.0.1');
    const [r2] = (await once(client, 'message')) as [Buffer];
    assert.equal(r2.toString(), 'echo:again');
    assert.equal(proxy.upLink.stats.droppedBlocked, 1);
  } finally {
    proxy.close();
    server.close();
    client.close();
  }
});

test('a client that changes source port reaches the target from a new address', async () => {
  const server = await bound();
  const a = await bound();
  const b = await bound();
  const proxy = new UdpLinkProxy({ target: { host: '127.0.0.1', port: server.address().port }, up: {}, down: {} });
  const port = await proxy.listen();
  try {
    a.send(Buffer.from('1'), port, '127.0.0.1');
    const [, r1] = (await once(server, 'message')) as [Buffer, { port: number }];
    b.send(Buffer.from('2'), port, '127.0.0.1');
    const [, r2] = (await once(server, 'message')) as [Buffer, { port: number }];
    assert.notEqual(r1.port, r2.port);
  } finally {
    proxy.close();
    server.close();
    a.close();
    b.close();
  }
});
