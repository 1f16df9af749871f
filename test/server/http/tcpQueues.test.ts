import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { nodeAddress, parseInSlices, parseProcNetTcp, procAddress, socketKey, tcpQueues } from '../../../src/server/http/tcpQueues.js';
import { waitFor } from './tools.js';

test('parses /proc/net/tcp lines (v4 and v6) into sockets by both ends, addresses included, and tx_queue bytes', () => {
  const v4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2F4 01 0007A120:00000000 01:00000014 00000000     0        0 2 1 0 20 4 30 10 -1
   2: 0100007F:1F90 0201007F:AAAA 01 00000010:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0100007F:1F90 0301007F:AAAA 01 00000020:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
   4: 0100007F:1F90 0401007F:AAAA 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   5: 0100007F:1F90 0501007F:AAAA 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   6: 0100007F:1F90 0501007F:AAAA 01 00000030:00000000 00:00000000 00000000     0        0 5 1 0 20 4 30 10 -1
`;
  const v6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000100007F:C350 01 00000400:00000000 00:00000000 00000000     0        0 5 1 0 20 4 30 10 -1
   1: 00000000000000000000000001000000:0050 00000000000000000000000001000000:C351 01 00000800:00000000 00:00000000 00000000     0        0 6 1 0 20 4 30 10 -1
`;
  const m = new Map<string, number>();
  parseProcNetTcp(v4, m);
  parseProcNetTcp(v6, m);
  const at = (local: string, lp: number, remote: string, rp: number) => m.get(socketKey(nodeAddress(local)!, lp, nodeAddress(remote)!, rp));
  assert.equal(at('127.0.0.1', 8080, '127.0.0.1', 54004), 500_000);
  assert.equal(at('127.0.0.1', 8080, '0.0.0.0', 0), 0, 'the listener');
  // Viewers from different addresses with the same port (common: bind before connect) are told apart.
  assert.equal(at('127.0.0.1', 8080, '127.0.1.2', 43690), 16);
  assert.equal(at('127.0.0.1', 8080, '127.0.1.3', 43690), 32);
  assert.equal(at('127.0.0.1', 8080, '127.0.1.4', 43690), undefined, 'a TIME_WAIT row is no live socket');
  assert.equal(at('127.0.0.1', 8080, '127.0.1.5', 43690), 48, 'a live socket beside a TIME_WAIT row of its 4-tuple');
  // Dual-stack sockets: Node names the ends ::ffff:127.0.0.1.
  assert.equal(at('::ffff:127.0.0.1', 80, '::ffff:127.0.0.1', 50000), 1024);
  assert.equal(at('::1', 80, '::1', 50001), 2048);
  assert.equal(m.size, 7);
  // Only the watched local ports: the v6 rows (ports 80) and the listener's own are left out by port.
  const only = new Map<string, number>();
  parseProcNetTcp(v4, only, new Set([8080]));
  parseProcNetTcp(v6, only, new Set([8080]));
  assert.equal(only.size, 5);
  assert.equal(only.get(socketKey('127.0.0.1', 8080, '127.0.1.5', 43690)), 48);
  const none = new Map<string, number>();
  parseProcNetTcp(v4, none, new Set([9999]));
  assert.equal(none.size, 0);
});

test('addresses as Node gives them and as /proc prints them meet in one form', () => {
  assert.equal(nodeAddress('127.0.0.1'), '127.0.0.1');
  assert.equal(nodeAddress('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.equal(nodeAddress('::'), '0:0:0:0:0:0:0:0');
  assert.equal(nodeAddress('fe80::1%eth0'), 'fe80:0:0:0:0:0:0:1');
  assert.equal(nodeAddress('2001:db8:0:0:1::'), '2001:db8:0:0:1:0:0:0');
  assert.equal(nodeAddress('1::2::3'), undefined);
  assert.equal(nodeAddress('not an address'), undefined);
  assert.equal(nodeAddress('1:2:3:4:5:6:7:8:9'), undefined);
  assert.equal(procAddress('0100007F'), '127.0.0.1');
  assert.equal(procAddress('B80D0120000000000000000001000000'), '2001:db8:0:0:0:0:0:1');
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
  const q = tcpQueues.watch(s, () => samples++);
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

test('a large table is parsed a slice of whole lines a turn, with the same result as at once', async () => {
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
  let text = header;
  for (let i = 0; i < 3000; i++) {
    const port = i % 3 === 0 ? 0x1f90 : 0x2000 + (i % 7);
    text += `${String(i).padStart(4)}: 0100007F:${hex(port, 4)} ${hex(0x0100007f + (i << 8), 8)}:${hex(10000 + i, 4)} 01 ${hex(i * 3, 8)}:00000000 00:00000000 00000000     0        0 ${i} 1 0 20 4 30 10 -1\n`;
  }
  const whole = new Map<string, number>();
  parseProcNetTcp(text, whole, new Set([8080]));
  assert.equal(whole.size, 1000);
  const sliced = new Map<string, number>();
  let turns = 0;
  let done = false;
  const tick = () => {
    turns++;
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  const slices = await parseInSlices(text, sliced, new Set([8080]), 4096);
  done = true;
  assert.ok(slices >= Math.floor(text.length / 4096), `${slices} slices of ${text.length} chars`);
  assert.deepEqual([...sliced].sort(), [...whole].sort(), 'no row lost or cut at a slice boundary');
  // Between slices the loop ran other work: another callback chain advanced once per slice.
  assert.ok(turns >= slices - 1, `other work ran ${turns} times during ${slices} slices`);
});
