import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { makeToken } from '../../src/server/auth.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import { MAX_CANDIDATES_PER_MEDIA } from '../../src/webrtc/sdp.js';
import { waitFor } from '../server/http/tools.js';
import { makeOffer, withCandidates } from './offers.js';

const secret = 'webrtc-refusal-secret-0123';
const publishToken = makeToken(secret, { action: 'publish', app: 'live', key: 'x', expiresAt: Date.now() + 600_000 });
let server: Server;
let base: string;
let h264: string;
const clients: { close(): Promise<void> }[] = [];

before(async () => {
  server = new Server(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    auth: { secret, publish: true },
    webrtc: { portMin: 23200, portMax: 23299, connectTimeoutMs: 1500 },
  }), { logger: createLogger('silent') });
  base = `http://127.0.0.1:${(await server.start()).httpPort}`;
  const o = await makeOffer({ video: 'H264', direction: 'sendonly' });
  clients.push(o.pc);
  h264 = o.sdp;
});

after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await server?.close();
});

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; location: string | null }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', body, headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${publishToken}`, ...headers } });
  return { status: res.status, text: await res.text(), location: res.headers.get('location') };
}

test('malformed SDP is refused with 400 saying what is wrong', async () => {
  for (const [body, why] of [['hello', /does not start with v=0/], ['v=0\r\nthis is not sdp', /is not <type>=<value>/], [h264.replace(/a=fingerprint:[^\r\n]*\r\n/g, ''), /no a=fingerprint/],
    [h264.replace(/m=video [^\r\n]*/, 'm=video x y z'), /unparsable media line/], ['', /empty body/],
    [h264.replace(/a=fingerprint:[^\r\n]*/g, 'a=fingerprint:sha-256 zz'), /is not a hash function and its bytes in hex/],
    [h264.replace(/a=fingerprint:[^\r\n]*/g, 'a=fingerprint:sha-256 AB:CD'), /is not a hash function and its bytes in hex/]] as const) {
    const r = await post('/whip/live/x', body);
    assert.equal(r.status, 400, `${body.slice(0, 20)}: ${r.text}`);
    assert.match(r.text, /malformed SDP offer/);
    assert.match(r.text, why);
  }
  assert.equal(server.webrtc!.sessionCount, 0);
});

test('an offer without H.264 is refused with 406 naming the codec it offered', async () => {
  const o = await makeOffer({ video: 'VP8', direction: 'sendonly' });
  clients.push(o.pc);
  const r = await post('/whip/live/x', o.sdp);
  assert.equal(r.status, 406, r.text);
  assert.match(r.text, /unsupported video codec: the offer has VP8; this server takes H264 with packetization-mode=1/);
  const noOpus = h264.replace(/opus\/48000/g, 'G722/8000');
  const r2 = await post('/whip/live/x', noOpus);
  assert.equal(r2.status, 406);
  assert.match(r2.text, /unsupported audio codec: the offer has G722/);
});

test('tokens travel as Bearer auth: missing is 401 with WWW-Authenticate, wrong is 403', async () => {
  const res = await fetch(`${base}/whip/live/x`, { method: 'POST', body: h264, headers: { 'Content-Type': 'application/sdp' } });
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
  const wrong = makeToken(secret, { action: 'publish', app: 'live', key: 'other', expiresAt: Date.now() + 60_000 });
  const r = await post('/whip/live/x', h264, { Authorization: `Bearer ${wrong}` });
  assert.equal(r.status, 403);
  assert.match(r.text, /token invalid for publish live\/x/);
});

test('wrong content type is 415, an oversized body 413, a WHEP offer for a stream not live 404', async () => {
  assert.equal((await post('/whip/live/x', h264, { 'Content-Type': 'text/plain' })).status, 415);
  const big = await post('/whip/live/x', h264 + 'a=x:' + 'y'.repeat(100_000) + '\r\n');
  assert.equal(big.status, 413);
  const whep = await makeOffer({ video: 'H264', direction: 'recvonly' });
  clients.push(whep.pc);
  const r = await post('/whep/live/nothing', whep.sdp);
  assert.equal(r.status, 404);
  assert.match(r.text, /not live/);
});

test('an offer with hundreds of candidates keeps 16 per section; a session that never completes ICE is reaped', async () => {
  const before = server.webrtc!.stats.candidatesDropped;
  const r = await post('/whip/live/x', withCandidates(h264, 300));
  assert.equal(r.status, 201, r.text);
  assert.match(r.location ?? '', /^\/whip\/live\/x\/[0-9a-f-]{36}$/);
  assert.match(r.text, /^v=0\r\n/);
  // The client's own candidates come after the 300 made-up ones: every section drops all but 16.
  const sections = (h264.match(/^m=/gm) ?? []).length;
  const own = (h264.match(/^a=candidate:/gm) ?? []).length;
  assert.equal(server.webrtc!.stats.candidatesDropped - before, sections * 300 + own - sections * MAX_CANDIDATES_PER_MEDIA);
  assert.equal(server.webrtc!.sessionCount, 1);
  assert.ok(server.registry.find('live', 'x')?.isLive, 'the publisher holds the stream while it may still connect');
  // The client never applies the answer, so ICE never completes: reaped after connectTimeoutMs.
  await waitFor('the session to be reaped', () => (server.webrtc!.sessionCount === 0 ? true : undefined), 5000);
  assert.equal(server.webrtc!.stats.reaped, 1);
  assert.ok(!server.registry.find('live', 'x')?.isLive, 'the stream is free again');
});

test('DELETE ends a session; unknown sessions are 404, a PATCH (trickle) without If-Match is 428', async () => {
  const r = await post('/whip/live/x', h264);
  assert.equal(r.status, 201, r.text);
  const again = await post('/whip/live/x', h264);
  assert.equal(again.status, 409, `a second publisher of a live stream is refused: ${again.text}`);
  assert.equal((await fetch(`${base}${r.location}`, { method: 'PATCH', body: 'a=candidate:1', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' } })).status, 428);
  assert.equal((await fetch(`${base}/whip/live/x/00000000-0000-0000-0000-000000000000`, { method: 'DELETE' })).status, 404);
  assert.equal((await fetch(`${base}${r.location}`, { method: 'DELETE' })).status, 200);
  assert.equal(server.webrtc!.sessionCount, 0);
  assert.ok(!server.registry.find('live', 'x')?.isLive);
});

test('a flood of offers is bounded: past maxSessions the server answers 503 and holds no more sessions', async () => {
  const flood = new Server(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    webrtc: { portMin: 23300, portMax: 23399, connectTimeoutMs: 60_000, maxSessions: 4 },
  }), { logger: createLogger('silent') });
  const url = `http://127.0.0.1:${(await flood.start()).httpPort}`;
  try {
    const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      fetch(`${url}/whip/live/k${i}`, { method: 'POST', body: h264, headers: { 'Content-Type': 'application/sdp' } }).then(async (r) => (await r.text(), r.status))));
    assert.equal(statuses.filter((s) => s === 201).length, 4, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 503).length, 26);
    assert.equal(flood.webrtc!.sessionCount, 4);
    // Still full: later offers are refused too, before their bodies are read.
    const answers = await Promise.all([0, 1].map(() => fetch(`${url}/whip/live/more`, { method: 'POST', body: h264, headers: { 'Content-Type': 'application/sdp' } }).then((r) => r.status)));
    assert.deepEqual(answers, [503, 503]);
  } finally {
    await flood.close();
  }
  assert.equal(flood.webrtc!.sessionCount, 0, 'close() ends every session');
});

test('one address cannot hold the WebRTC slots: past maxUnconnectedPerAddress unconnected offers it gets 429, another address still gets in', async () => {
  const flood = new Server(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    limits: { exemptAddresses: [] },
    webrtc: { portMin: 23400, portMax: 23499, connectTimeoutMs: 60_000, maxSessions: 50, maxUnconnectedPerAddress: 3 },
  }), { logger: createLogger('silent') });
  const port = (await flood.start()).httpPort;
  // From a chosen loopback address (fetch cannot bind one).
  const postFrom = (localAddress: string, key: string) => new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, localAddress, method: 'POST', path: `/whip/live/${key}`, headers: { 'Content-Type': 'application/sdp', Connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.end(h264);
  });
  try {
    const flooded = await Promise.all(Array.from({ length: 10 }, (_, i) => postFrom('127.0.0.1', `f${i}`)));
    assert.equal(flooded.filter((r) => r.status === 201).length, 3, flooded.map((r) => r.status).join(','));
    const refused = flooded.filter((r) => r.status === 429);
    assert.equal(refused.length, 7);
    assert.ok(refused.every((r) => r.retryAfter === '60'), 'Retry-After says when a slot is reaped');
    assert.equal(flood.webrtc!.sessionCount, 3);
    assert.equal((await postFrom('127.0.0.1', 'later')).status, 429, 'still held: refused again');
    assert.equal((await postFrom('127.0.0.2', 'other')).status, 201, 'another address is not held up');
  } finally {
    await flood.close();
  }
});

test('the answer names only the configured address, on a port of the configured range', async () => {
  const r = await post('/whip/live/addr', h264, { Authorization: `Bearer ${makeToken(secret, { action: 'publish', app: 'live', key: 'addr', expiresAt: Date.now() + 60_000 })}` });
  assert.equal(r.status, 201, r.text);
  const candidates = r.text.match(/^a=candidate:.*$/gm) ?? [];
  assert.ok(candidates.length > 0);
  for (const c of candidates) {
    const [, , , , address, port] = c.split(' ');
    assert.equal(address, '127.0.0.1', c);
    assert.ok(Number(port) >= 23200 && Number(port) <= 23299, c);
  }
  assert.equal((await fetch(`${base}${r.location}`, { method: 'DELETE' })).status, 200);
});
