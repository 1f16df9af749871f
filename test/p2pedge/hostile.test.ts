import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { createNode, type MediaNode } from '../../src/node/createNode.js';
import { parseConfig } from '../../src/node/config.js';
import { makeToken } from '../../src/server/auth.js';
import { createLogger } from '../../src/server/log.js';
import { decode, encode } from '../../src/p2p/codec.js';
import { Msg, type AnyMsg } from '../../src/p2p/messages.js';
import { pushRtmp, stop, waitFor } from '../server/http/tools.js';

const secret = 'p2p-hostile-secret-0123';
let node: MediaNode;
let base: string;
let push: ChildProcess;

before(async () => {
  node = createNode(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { enabled: false }, logLevel: 'silent',
    auth: { secret, play: true },
    p2p: { apps: ['live'], maxPeersPerStream: 4, maxMessageBytes: 4096, messagesPerSecond: 20, messageBurst: 40 },
  }), { logger: createLogger('silent') });
  const ports = await node.start();
  base = `ws://127.0.0.1:${ports.httpPort}`;
  push = pushRtmp(`rtmp://127.0.0.1:${ports.rtmpPort}/live/cam`, 600);
  await waitFor('the push to go live', () => (node.server.registry.find('live', 'cam')?.videoConfig ? true : undefined), 15_000);
});

after(async () => {
  if (push) await stop(push);
  await node?.close();
});

const token = (key = 'cam', app = 'live') => makeToken(secret, { action: 'play', app, key, expiresAt: Date.now() + 600_000 });
const counters = () => node.p2p!.counters;

/** A hand-driven peer: what the edge sends it, decoded, and how it was closed. */
class RawPeer {
  readonly ws: WebSocket;
  readonly texts: Array<Record<string, unknown>> = [];
  readonly msgs: AnyMsg[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  refused: number | undefined;
  constructor(path = `/p2p/live/cam?token=${token()}`) {
    this.ws = new WebSocket(base + path);
    this.ws.on('message', (d: Buffer, binary: boolean) => (binary ? this.msgs.push(decode(d)) : this.texts.push(JSON.parse(d.toString()))));
    this.ws.on('error', () => undefined);
    this.ws.on('unexpected-response', (_req, res) => {
      this.refused = res.statusCode;
      this.ws.terminate();
    });
    this.opened = new Promise((resolve) => this.ws.once('open', () => resolve()));
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }
  join(): void {
    this.ws.send(encode({ t: Msg.Join, region: 0, isp: 0, uploadKbps: 100, reachable: true, nominate: false }));
  }
  async welcomed(): Promise<number> {
    await waitFor('a Welcome', () => this.msgs.find((m) => m.t === Msg.Welcome), 5000);
    return (this.msgs.find((m) => m.t === Msg.Welcome) as { id: number }).id;
  }
}

test('refuses a bad path, a missing token, a stream not live and an app P2P is off for, each counted', async () => {
  for (const [path, status] of [['/p2p/live', 404], ['/p2p/live/cam', 401], [`/p2p/live/nope?token=${token('nope')}`, 404], [`/p2p/other/cam?token=${token('cam', 'other')}`, 404]] as const) {
    const p = new RawPeer(path);
    await p.closed;
    assert.equal(p.refused, status, path);
  }
  assert.equal(counters().refused['auth'], 1);
  assert.equal(counters().refused['not live'], 1);
  assert.equal(counters().refused['off'], 1);
});

test('a joined peer gets setup, a Welcome and digests of the real stream; garbage closes it after a few, and another peer goes on', async () => {
  const good = new RawPeer();
  await good.opened;
  good.join();
  await good.welcomed();
  await waitFor('digests', () => good.msgs.find((m) => m.t === Msg.Digests), 5000);
  assert.equal(good.texts[0]!.t, 'setup');
  const bad = new RawPeer();
  await bad.opened;
  bad.join();
  await bad.welcomed();
  const before = counters().garbage;
  for (let i = 0; i < 30; i++) bad.ws.send(Buffer.concat([Buffer.from([200]), randomBytes(40)]));
  assert.deepEqual(await bad.closed, { code: 1008, reason: 'garbage' });
  assert.ok(counters().garbage - before >= 17);
  const n = good.msgs.length;
  await waitFor('the good peer still fed', () => (good.msgs.length > n + 3 ? true : undefined), 5000);
  good.ws.close();
  await good.closed;
});

test('a message over maxMessageBytes closes the peer (1009), counted', async () => {
  const p = new RawPeer();
  await p.opened;
  p.ws.send(Buffer.alloc(5000, 1));
  assert.equal((await p.closed).code, 1009);
  await waitFor('the count', () => (counters().closed['oversized'] ? true : undefined), 2000);
});

test('a flood is dropped over the rate and then closed; signals are checked: before joining, to nobody, not JSON', async () => {
  const p = new RawPeer();
  await p.opened;
  p.ws.send(JSON.stringify({ t: 'signal', to: 1, data: {} })); // before joining: garbage
  p.join();
  const id = await p.welcomed();
  const dropped = counters().signalsDropped;
  p.ws.send(JSON.stringify({ t: 'signal', to: id + 1000, data: { sdp: 'x' } }));
  p.ws.send('{not json');
  await waitFor('the signal to nobody dropped', () => (counters().signalsDropped > dropped ? true : undefined), 2000);
  const rate = counters().rateDropped;
  const report = encode({ t: Msg.Report, backlogMs: 0, continuity: 1000, parents: [] });
  for (let i = 0; i < 2000 && p.ws.readyState === WebSocket.OPEN; i++) p.ws.send(report);
  assert.deepEqual(await p.closed, { code: 1008, reason: 'flood' });
  assert.ok(counters().rateDropped - rate > 40, `dropped ${counters().rateDropped - rate}`);
  assert.ok((counters().closed['flood'] ?? 0) >= 1);
});

test('peers per stream are capped: the one over maxPeersPerStream is refused with 503', async () => {
  const peers = [new RawPeer(), new RawPeer(), new RawPeer(), new RawPeer()];
  await Promise.all(peers.map((p) => p.opened));
  const extra = new RawPeer();
  await extra.closed;
  assert.equal(extra.refused, 503);
  assert.ok((counters().refused['full'] ?? 0) >= 1);
  for (const p of peers) p.ws.close();
  await Promise.all(peers.map((p) => p.closed));
  // The last one gone, the stream's edge ends and stops watching the stream.
  await waitFor('the edge gone', () => (node.p2p!.streams.size === 0 ? true : undefined), 3000);
  assert.equal(node.server.registry.find('live', 'cam')?.viewerCounts()['p2p'], undefined);
});
