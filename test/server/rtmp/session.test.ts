import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAmf0, encodeAmf0 } from '../../../src/media/amf0.js';
import { Registry } from '../../../src/server/Registry.js';
import { RtmpServer } from '../../../src/server/rtmp/RtmpServer.js';
import type { RtmpServerOptions } from '../../../src/server/rtmp/RtmpServer.js';
import { RawClient } from './RawClient.js';
import { aacConfigTag, aacFrameTag, avcConfigTag, avcFrameTag } from './media.js';
import { withTimeout } from './tools.js';

async function setup(opts: Partial<RtmpServerOptions> = {}, apps?: ConstructorParameters<typeof Registry>[0]): Promise<{ registry: Registry; server: RtmpServer; port: number; open: () => Promise<RawClient>; done: () => Promise<void> }> {
  const registry = new Registry(apps);
  const server = new RtmpServer({ registry, ...opts });
  const port = await server.listen(0, '127.0.0.1');
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const c = await RawClient.open(port);
    clients.push(c);
    await c.handshake();
    return c;
  };
  const done = async (): Promise<void> => {
    for (const c of clients) c.close();
    await server.close();
    registry.close();
  };
  return { registry, server, port, open, done };
}

async function publishAs(c: RawClient, name: string, app = 'live'): Promise<{ sid: number; info: Record<string, unknown> }> {
  const sid = await c.connectAndCreate(app);
  c.command(0, 'releaseStream', 3, null, name);
  c.command(0, 'FCPublish', 4, null, name);
  c.command(sid, 'publish', 5, null, name, 'live');
  const v = await c.waitForCommand('onStatus');
  return { sid, info: v[3] as Record<string, unknown> };
}

test('authorize sees app, key without its query, the merged query and the remote address', async () => {
  const calls: unknown[][] = [];
  const t = await setup({
    authorize: (action, app, key, query, remote) => {
      calls.push([action, app, key, query.get('token'), query.get('tenant'), remote]);
      return query.get('token') === 'good' ? undefined : 'token required';
    },
  });
  try {
    const bad = await t.open();
    const refused = await publishAs(bad, 'cam?token=bad');
    assert.equal(refused.info['code'], 'NetStream.Publish.Unauthorized');
    assert.equal(refused.info['description'], 'token required');
    await withTimeout(bad.closed, 5000, 'refused publisher closed');
    const ok = await t.open();
    const accepted = await publishAs(ok, 'cam?token=good', 'live?tenant=acme');
    assert.equal(accepted.info['code'], 'NetStream.Publish.Start');
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]!.slice(0, 5), ['publish', 'live', 'cam', 'good', 'acme']);
    assert.match(String(calls[1]![5]), /^127\.0\.0\.1:\d+$/);
    assert.ok(t.registry.find('live', 'cam')?.isLive);
    assert.equal(t.server.stats.publishesRefused, 1);
  } finally {
    await t.done();
  }
});

test('a duplicate publish gets NetStream.Publish.BadName and is closed; the first publisher keeps the key', async () => {
  const t = await setup();
  try {
    const first = await t.open();
    assert.equal((await publishAs(first, 'dup')).info['code'], 'NetStream.Publish.Start');
    const owner = t.registry.find('live', 'dup')!.publisher;
    const second = await t.open();
    const r = await publishAs(second, 'dup');
    assert.equal(r.info['code'], 'NetStream.Publish.BadName');
    assert.equal(r.info['level'], 'error');
    await withTimeout(second.closed, 5000, 'second publisher closed');
    assert.equal(t.registry.find('live', 'dup')!.publisher, owner);
    assert.equal(first.isClosed, false);
  } finally {
    await t.done();
  }
});

test('a player that joins before the publisher gets metadata, configs and frames from time 0', async () => {
  const t = await setup();
  try {
    const viewer = await t.open();
    const vsid = await viewer.connectAndCreate();
    viewer.command(vsid, 'play', 3, null, 'later', -2, -1, true);
    await viewer.waitForCommand('onStatus', 'NetStream.Play.Reset');
    await viewer.waitForCommand('onStatus', 'NetStream.Play.Start');
    await viewer.waitFor((m) => m.type === 18 && decodeAmf0(m.payload)[0] === '|RtmpSampleAccess');

    const pub = await t.open();
    const { sid } = await publishAs(pub, 'later');
    pub.send(5, 18, sid, 0, encodeAmf0('@setDataFrame', 'onMetaData', { width: 320, height: 240, encoder: 'test' }));
    pub.send(6, 9, sid, 5000, avcConfigTag);
    pub.send(4, 8, sid, 5000, aacConfigTag);
    pub.send(6, 9, sid, 5000, avcFrameTag(true));
    pub.send(4, 8, sid, 5010, aacFrameTag());
    pub.send(6, 9, sid, 5033, avcFrameTag(false));

    await viewer.waitFor((m) => m.type === 9 && m.payload[0] === 0x27);
    const media = viewer.messages.filter((m) => m.type === 8 || m.type === 9 || (m.type === 18 && decodeAmf0(m.payload)[0] === 'onMetaData'));
    assert.deepEqual(media.map((m) => [m.type, m.payload[0], m.payload[1], m.timestamp, m.streamId]), [
      [18, 0x02, 0x00, 0, vsid],
      [9, 0x17, 0, 0, vsid],
      [8, 0xaf, 0, 0, vsid],
      [9, 0x17, 1, 0, vsid],
      [8, 0xaf, 1, 10, vsid],
      [9, 0x27, 1, 33, vsid],
    ]);
    assert.deepEqual(new Uint8Array(media[1]!.payload), avcConfigTag);
    assert.deepEqual(new Uint8Array(media[3]!.payload), avcFrameTag(true));
    const md = decodeAmf0(media[0]!.payload)[1] as Record<string, unknown>;
    assert.equal(md['width'], 320);
  } finally {
    await t.done();
  }
});

test('deleteStream ends a publish and the idle stream is released; pings and acknowledgements are answered', async () => {
  // No publisher grace: the stream goes as soon as nobody uses it (the grace has tests of its own).
  const t = await setup({}, { publisherGraceMs: 0 });
  try {
    const pub = await t.open();
    pub.send(2, 5, 0, 0, new Uint8Array([0, 0, 0x01, 0x00])); // our window: ack every 256 bytes
    const { sid } = await publishAs(pub, 'gone');
    for (let i = 0; i < 10; i++) pub.send(6, 9, sid, i * 33, i === 0 ? avcConfigTag : avcFrameTag(i === 1, 64));
    pub.send(2, 4, 0, 0, new Uint8Array([0, 6, 0, 0, 0x30, 0x39])); // ping request 12345
    const pong = await pub.waitFor((m) => m.type === 4 && m.payload[1] === 7);
    assert.deepEqual([...pong.payload], [0, 7, 0, 0, 0x30, 0x39]);
    await pub.waitFor((m) => m.type === 3);
    assert.ok(t.registry.find('live', 'gone')?.isLive);
    pub.command(0, 'FCUnpublish', 6, null, 'gone');
    pub.command(0, 'deleteStream', 7, null, sid);
    pub.command(0, 'getStreamLength', 8, null, 'gone');
    await pub.waitForReply(8);
    assert.equal(t.registry.find('live', 'gone'), undefined, 'nobody uses it: released');
    assert.equal(pub.isClosed, false);
  } finally {
    await t.done();
  }
});

test('a viewer that leaves is unsubscribed; the connection limit refuses extra sockets', async () => {
  const t = await setup({ maxConnections: 2 });
  try {
    const viewer = await t.open();
    const vsid = await viewer.connectAndCreate();
    viewer.command(vsid, 'play', 3, null, 'w');
    await viewer.waitForCommand('onStatus', 'NetStream.Play.Start');
    const stream = t.registry.find('live', 'w')!;
    assert.equal(stream.viewerCounts()['rtmp'], 1);
    const other = await t.open();
    await assert.rejects(t.open(), /closed during handshake/);
    assert.equal(t.server.stats.connectionsRefused, 1);
    const gone = new Promise((r) => stream.once('close', () => r(undefined)));
    viewer.close();
    await withTimeout(gone, 5000, 'stream released after its only viewer left');
    other.close();
  } finally {
    await t.done();
  }
});
