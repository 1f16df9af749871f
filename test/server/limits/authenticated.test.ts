import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, get as httpGet, type ClientRequest } from 'node:http';
import { makeToken } from '../../../src/server/auth.js';
import { RawClient } from '../rtmp/RawClient.js';
import { avcConfigTag, avcFrameTag } from '../rtmp/media.js';
import { ChildServer } from './child.js';
import { MB, attacker, header, pour } from './attack.js';

const SECRET = 'a-secret-of-sixteen-or-more';

test('a publisher whose token passed is off the anonymous budget and the address cap: attackers from its address fill both and its 4 MiB keyframe still goes through', async () => {
  const budget = 22 << 20;
  const child = await ChildServer.start({
    auth: { secret: SECRET, publish: true },
    limits: { memoryBudgetBytes: budget, memoryPerAddressBytes: budget, maxConnectionsPerAddress: 3, exemptAddresses: [] },
  }, 256);
  const clients: RawClient[] = [];
  try {
    const pub = await RawClient.open(child.rtmpPort);
    clients.push(pub);
    await pub.handshake();
    const sid = await pub.connectAndCreate();
    const token = makeToken(SECRET, { action: 'publish', app: 'live', key: 'good', expiresAt: Date.now() + 60_000 });
    pub.command(sid, 'publish', 3, null, `good?token=${token}`, 'live');
    await pub.waitForCommand('onStatus', 'NetStream.Publish.Start');
    pub.send(6, 9, sid, 0, avcConfigTag);

    // Three anonymous connections from the same address (the cap), 6 MiB held by each: two
    // messages one byte longer than the 3 MiB chunk sent of each, so each buffer is their length
    // (it never grows past it), whatever sizes the socket's reads had.
    const part = new Uint8Array(3 << 20);
    const length = part.length + 1;
    for (let i = 0; i < 3; i++) {
      const c = await attacker(child.rtmpPort, part.length);
      clients.push(c);
      await pour(c, new Uint8Array(header(4, length)));
      await pour(c, part);
      await pour(c, new Uint8Array(header(5, length)));
      await pour(c, part);
    }
    // A command round trip on each: the server has read everything they sent.
    for (const c of clients.slice(1)) {
      c.command(0, 'connect', 1, { app: 'live' });
      await c.waitForCommand('_result');
    }
    const full = await child.mem();
    console.log(`budget ${MB(budget)}: ${MB(full.budgetUsed)} held by the anonymous connections; refused ${JSON.stringify(full.rtmp.refusedBy)}, closed ${JSON.stringify(full.rtmp.errors)}`);
    assert.equal(clients.filter((c) => c.isClosed).length, 0, 'the three attackers fit: the publisher holds no slot of its address');
    assert.ok(budget - full.budgetUsed < 4 << 20, `less than 4 MiB left (${MB(budget - full.budgetUsed)})`);

    pub.socket.write(pub.writer.encode({ csid: 6, type: 9, streamId: sid, timestamp: 40 }, avcFrameTag(true, 4 << 20)));
    pub.command(0, 'getStreamLength', 9, null, 'good');
    await pub.waitForReply(9, 10_000);
    const after = await child.mem();
    assert.equal(pub.isClosed, false, 'the publisher is open');
    assert.equal(after.rtmp.errors['memory budget'], undefined, JSON.stringify(after.rtmp.errors));
    assert.ok(after.rtmp.bytesIn > 4 << 20, 'its keyframe was read');
  } finally {
    for (const c of clients) c.close();
    await child.stop();
  }
});

test('HTTP-FLV viewers whose play token passed give back their address slot: more of them than the cap watch from one address', async () => {
  const child = await ChildServer.start({ auth: { secret: SECRET, play: true }, limits: { maxConnectionsPerAddress: 2, exemptAddresses: [] } }, 256);
  const clients: RawClient[] = [];
  const viewers: ClientRequest[] = [];
  try {
    // The publisher needs no token here, so it is anonymous: it takes one of the two slots.
    const pub = await RawClient.open(child.rtmpPort);
    clients.push(pub);
    await pub.handshake();
    const sid = await pub.connectAndCreate();
    pub.command(sid, 'publish', 3, null, 'good', 'live');
    await pub.waitForCommand('onStatus', 'NetStream.Publish.Start');
    pub.send(6, 9, sid, 0, avcConfigTag);
    pub.send(6, 9, sid, 0, avcFrameTag(true, 100));
    const token = makeToken(SECRET, { action: 'play', app: 'live', key: 'good', expiresAt: Date.now() + 60_000 });
    for (let i = 0; i < 4; i++) {
      const { req, status } = await getFlv(child.httpPort, `/live/good.flv?token=${token}`);
      viewers.push(req);
      assert.equal(status, 200, `viewer ${i + 1} plays`);
    }
    // An anonymous connection takes the second slot; a third is refused.
    const idle = await getFlv(child.httpPort, '/live/good.flv');
    viewers.push(idle.req);
    assert.equal(idle.status, 401);
    const refused = await getFlv(child.httpPort, '/live/good.flv').catch((e: Error) => e);
    assert.ok(refused instanceof Error, 'the anonymous connection beyond the cap is refused');
    const m = await child.mem();
    assert.equal(m.http['address limit'], 1, JSON.stringify(m.http));
  } finally {
    for (const v of viewers) v.destroy();
    for (const c of clients) c.close();
    await child.stop();
  }
});

/** A GET kept open (keep-alive agentless, the body left streaming); resolves with the status. */
function getFlv(port: number, path: string): Promise<{ req: ClientRequest; status: number }> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, agent: new Agent({ keepAlive: true }) }, (res) => {
      res.resume();
      resolve({ req, status: res.statusCode ?? 0 });
    });
    req.on('error', reject);
  });
}
