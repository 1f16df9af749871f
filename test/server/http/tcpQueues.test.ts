import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { parseProcNetTcp, tcpQueues } from '../../../src/server/http/tcpQueues.js';
import { waitFor } from './tools.js';

test('parses /proc/net/tcp lines (v4 and v6) into port pairs and tx_queue bytes; a pair seen twice reads as ambiguous', () => {
  const v4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2F4 01 0007A120:00000000 01:00000014 00000000     0        0 2 1 0 20 4 30 10 -1
   2: 0100007F:1F90 0200007F:AAAA 01 00000010:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0300007F:1F90 0400007F:AAAA 01 00000020:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
`;
  const v6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000100007F:C350 01 00000400:00000000 00:00000000 00000000     0        0 5 1 0 20 4 30 10 -1
`;
  const m = new Map<string, number>();
  parseProcNetTcp(v4, m);
  parseProcNetTcp(v6, m);
  assert.equal(m.get('8080:54004'), 500_000);
  assert.equal(m.get('8080:0'), 0);
  assert.equal(m.get('80:50000'), 1024);
  assert.equal(m.get('8080:43690'), -1, 'two sockets with the same ports on different addresses');
});

test('on Linux, reports the bytes a peer that stopped reading has not acknowledged', { skip: process.platform !== 'linux' }, async () => {
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  await waitFor('accept', () => (accepted.length === 1 ? true : undefined));
  client.pause(); // never reads
  const s = accepted[0]!;
  let samples = 0;
  const q = tcpQueues.watch(s.localPort, s.remotePort, () => samples++);
  try {
    const chunk = Buffer.alloc(64 << 10);
    for (let i = 0; i < 64; i++) s.write(chunk); // 4 MiB: more than the client's buffers hold
    const tx = await waitFor('a sample with bytes held', () => (samples > 0 && (q.tx ?? 0) > 100_000 ? q.tx : undefined), 5000);
    assert.ok(tx! <= 4 << 20);
    client.resume();
    await waitFor('the queue to drain once the peer reads', () => (q.tx === 0 ? true : undefined), 10_000);
  } finally {
    q.stop();
    client.destroy();
    s.destroy();
    server.close();
  }
});
