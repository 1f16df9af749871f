import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { FlvSubscriber, type FlvSink } from '../../../src/server/http/FlvSubscriber.js';
import { TcpQueues } from '../../../src/server/http/tcpQueues.js';
import { AUDIO_CONFIG, makeSource, toMediaFrame, VIDEO_CONFIG } from '../../../src/bench/fanout/stream.js';

/*
 * The slow-viewer rule on real loopback sockets (127.0.2.x) with the real kernel poller: a
 * viewer is cut on evidence that it stopped reading (Node's buffer full, or kernel samples
 * with nothing acknowledged), never on the want of a sample.
 */

const STALL_CUT_MS = 1500;

interface Viewer {
  sub: FlvSubscriber;
  client: Socket;
  received: number;
}

/** A FlvSubscriber on the server side of a real socket, as flvViewer.ts builds them. */
function attach(server: Socket, client: Socket, queues: TcpQueues): Viewer {
  let sub: FlvSubscriber;
  const probe = queues.watch(server, () => sub.sampled(), () => sub.pollStarted());
  const sink: FlvSink = {
    write: (chunks, bytes) => void server.write(Buffer.concat(chunks, bytes)),
    buffered: () => server.writableLength,
    kernelQueued: () => probe.tx,
    end: () => {
      probe.stop();
      server.destroy();
    },
  };
  sub = new FlvSubscriber(`v${server.remotePort}`, 'http-flv', '-', { skipBytes: 4 << 20, cutBytes: 8 << 20 }, sink, STALL_CUT_MS);
  server.on('drain', () => sub.drained());
  sub.onConfig(VIDEO_CONFIG, AUDIO_CONFIG, undefined);
  const v: Viewer = { sub, client, received: 0 };
  return v;
}

async function pair(listener: ReturnType<typeof createServer>, accepted: Socket[], host: string): Promise<[Socket, Socket]> {
  const port = (listener.address() as { port: number }).port;
  const client = connect({ port, host, localAddress: host });
  for (const end = Date.now() + 5000; accepted.length === 0; await new Promise((r) => setTimeout(r, 10))) {
    assert.ok(Date.now() < end, 'accept');
  }
  return [accepted.shift()!, client];
}

test('kernel samples seconds apart (a loaded server): an honest reader is not cut for want of a sample, one that never reads still is', { skip: process.platform !== 'linux' && 'the kernel poller reads /proc/net/tcp (Linux)', timeout: 30_000 }, async () => {
  const accepted: Socket[] = [];
  const listener = createServer((s) => accepted.push(s));
  await new Promise<void>((r) => listener.listen(0, '127.0.2.3', r));
  // The real poller, 3 s between samples: what a busy event loop and a big /proc/net/tcp give.
  const queues = new TcpQueues(3000);
  const viewers: Viewer[] = [];
  let pump: NodeJS.Timeout | undefined;
  try {
    const [hs, hc] = await pair(listener, accepted, '127.0.2.3');
    const honest = attach(hs, hc, queues);
    hc.on('data', (d: Buffer) => (honest.received += d.length));
    const [ds, dc] = await pair(listener, accepted, '127.0.2.3');
    dc.pause(); // never reads
    const dead = attach(ds, dc, queues);
    viewers.push(honest, dead);
    // 2 Mbit/s: the 512 KiB kernel estimate is reached 2 s after a sample.
    const source = makeSource(2_000_000, 7);
    const t0 = performance.now();
    pump = setInterval(() => {
      for (const f of source.take(performance.now() - t0)) for (const v of viewers) v.sub.deliver(toMediaFrame(f));
    }, 10);
    await new Promise((r) => setTimeout(r, 11_000));
    // Before the fix: cut at ~3.5 s ("its socket did not drain"), its socket empty, read to the last byte.
    assert.equal(honest.sub.isClosed, false, `the honest reader was cut after reading ${honest.received} bytes`);
    assert.ok(honest.received > 1_500_000, `the honest reader got ${honest.received} bytes in 11 s of a 2 Mbit/s stream`);
    assert.equal(dead.sub.isClosed, true, 'the viewer that never reads is cut');
  } finally {
    clearInterval(pump);
    for (const v of viewers) {
      v.sub.close('test over');
      v.client.destroy();
    }
    listener.close();
  }
});
