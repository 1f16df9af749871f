import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeToken } from '../../src/server/auth.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import { MAX_PATCHES, MAX_TRICKLED } from '../../src/server/webrtc/TrickleGate.js';
import { formatSdpFrag, MAX_FRAG_BYTES, parseSdpFrag } from '../../src/webrtc/trickle.js';
import { makeOffer } from './offers.js';

const secret = 'webrtc-trickle-secret-0123';
const token = (key: string) => makeToken(secret, { action: 'publish', app: 'live', key, expiresAt: Date.now() + 600_000 });
const TURN = { urls: 'turn:127.0.0.1:3478?transport=udp', username: 'trib', credential: 'pw;with,odd=chars' };
let server: Server;
let base: string;
let offer: { sdp: string; pc: { close(): Promise<void> } };
const FRAG = 'application/trickle-ice-sdpfrag';

before(async () => {
  server = new Server(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    auth: { secret, publish: true },
    webrtc: { portMin: 23500, portMax: 23599, connectTimeoutMs: 60_000, iceServers: [{ urls: 'stun:127.0.0.1:3478' }, TURN] },
  }), { logger: createLogger('silent') });
  base = `http://127.0.0.1:${(await server.start()).httpPort}`;
  offer = await makeOffer({ video: 'H264', direction: 'sendonly' });
});

after(async () => {
  await offer?.pc.close().catch(() => undefined);
  await server?.close();
});

/** A WHIP session of its own for `key`: its URL, ETag, and the offer's ICE ufrag/pwd and first mid. */
async function session(key: string): Promise<{ url: string; etag: string; links: string | null; ufrag: string; pwd: string; mid: string }> {
  const res = await fetch(`${base}/whip/live/${key}`, { method: 'POST', body: offer.sdp, headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token(key)}` } });
  assert.equal(res.status, 201, await res.clone().text());
  await res.text();
  return {
    url: base + res.headers.get('location')!, etag: res.headers.get('etag')!, links: res.headers.get('link'),
    ufrag: /a=ice-ufrag:(\S+)/.exec(offer.sdp)![1]!, pwd: /a=ice-pwd:(\S+)/.exec(offer.sdp)![1]!, mid: /a=mid:(\S+)/.exec(offer.sdp)![1]!,
  };
}

async function patch(url: string, body: string | Blob, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'PATCH', body, headers });
  return { status: res.status, text: await res.text() };
}

const host = (i: number) => `candidate:${100 + i} 1 udp 2122260223 127.0.0.1 ${30000 + i} typ host generation 0`;

test('the 201 names the ICE servers in Link headers and the ICE session in ETag; OPTIONS gives the servers only with the token', async () => {
  const s = await session('links');
  assert.match(s.etag, /^"[A-Za-z0-9_-]{16}"$/);
  assert.equal(s.links, '<stun:127.0.0.1:3478>; rel="ice-server", <turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="trib"; credential="pw;with,odd=chars"; credential-type="password"');
  const withToken = await fetch(`${base}/whip/live/links2`, { method: 'OPTIONS', headers: { Authorization: `Bearer ${token('links2')}` } });
  assert.equal(withToken.status, 204);
  assert.equal(withToken.headers.get('link'), s.links);
  const preflight = await fetch(`${base}/whip/live/links2`, { method: 'OPTIONS' });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('link'), null, 'no TURN credentials without the token');
  assert.match(preflight.headers.get('access-control-expose-headers') ?? '', /ETag/);
  assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /If-Match/);
  await fetch(s.url, { method: 'DELETE' });
});

test('a trickled fragment reaches the stack: 204; TCP, mDNS and RTCP candidates are dropped and counted', async () => {
  const s = await session('good');
  const before = { ...server.webrtc!.trickle };
  const body = formatSdpFrag({ ufrag: s.ufrag, pwd: s.pwd, mid: s.mid, end: true, candidates: [host(0), 'candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active', 'candidate:3 1 udp 2122260223 4f1c2a.local 5000 typ host', 'candidate:4 2 udp 2122260222 127.0.0.1 30001 typ host'] });
  const r = await patch(s.url, body, { 'Content-Type': FRAG, 'If-Match': s.etag });
  assert.equal(r.status, 204, r.text);
  const t = server.webrtc!.trickle;
  assert.equal(t.candidates - before.candidates, 1);
  assert.equal(t.dropped - before.dropped, 3);
  assert.equal(t.endOfCandidates - before.endOfCandidates, 1);
  // The wildcard If-Match matches the current ICE session too.
  assert.equal((await patch(s.url, formatSdpFrag({ ufrag: s.ufrag, pwd: s.pwd, mid: s.mid, candidates: [host(1)] }), { 'Content-Type': FRAG, 'If-Match': '*' })).status, 204);
  await fetch(s.url, { method: 'DELETE' });
});

test('hostile PATCHes get a clear 4xx each, counted by reason: type, ETag, garbage, size, restart, mid, floods', async () => {
  const s = await session('hostile');
  const good = (c: string[] = [host(0)]) => formatSdpFrag({ ufrag: s.ufrag, pwd: s.pwd, mid: s.mid, candidates: c });
  const h = { 'Content-Type': FRAG, 'If-Match': s.etag };
  const cases: Array<[string, string | Blob, Record<string, string>, number, RegExp]> = [
    ['wrong type', good(), { ...h, 'Content-Type': 'application/sdp' }, 415, /Content-Type must be application\/trickle-ice-sdpfrag/],
    ['no If-Match', good(), { 'Content-Type': FRAG }, 428, /If-Match is required/],
    ['wrong ETag', good(), { ...h, 'If-Match': '"not-this-one"' }, 412, /If-Match names another ICE session/],
    ['garbage', 'hello there\r\n', h, 400, /malformed trickle-ice-sdpfrag: line "hello there" is not <type>=<value>/],
    ['binary', new Blob([new Uint8Array([0, 1, 2, 0xff, 0xfe, 10, 13])]), h, 400, /malformed trickle-ice-sdpfrag/],
    ['bad candidate', 'a=candidate:1 1 udp notanumber 127.0.0.1 5000 typ host\r\n', h, 400, /unparsable candidate/],
    ['port 0', 'a=candidate:1 1 udp 1 127.0.0.1 0 typ host\r\n', h, 400, /candidate out of range/],
    ['empty', '', h, 400, /empty body/],
    ['oversized', 'a=x\r\n'.repeat((MAX_FRAG_BYTES / 5) + 10), h, 413, /too large/],
    ['ICE restart', formatSdpFrag({ ufrag: 'abcdEFGH', pwd: 'abcdefghijklmnopqrstuvwx', mid: s.mid, candidates: [host(0)] }), h, 422, /ICE restarts are not supported/],
    ['unknown mid', formatSdpFrag({ ufrag: s.ufrag, pwd: s.pwd, mid: 'nope', candidates: [host(0)] }), h, 400, /no media section with mid "nope"/],
    ['too many candidates', good(Array.from({ length: MAX_TRICKLED + 1 }, (_, i) => host(i))), h, 429, /more than 32 trickled candidates/],
  ];
  for (const [name, body, headers, status, why] of cases) {
    const r = await patch(s.url, body, headers);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.match(r.text, why, name);
  }
  assert.equal((await patch(`${base}/whip/live/hostile/00000000-0000-0000-0000-000000000000`, good(), h)).status, 404);
  assert.equal((await fetch(s.url, { method: 'PUT', body: good(), headers: h })).status, 405);
  assert.equal((await fetch(`${base}/whip/live/hostile`, { method: 'PATCH', body: good(), headers: h })).status, 405);
  // A flood of requests: the session takes MAX_PATCHES over its life, then 429 at the headers (no body read).
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < MAX_PATCHES + 20; i++) {
    const r = await patch(s.url, good([]), h);
    if (r.status === 204) accepted++;
    else {
      assert.equal(r.status, 429, r.text);
      assert.match(r.text, /more than 64 trickle requests/);
      refused++;
    }
  }
  assert.ok(accepted > 0 && refused >= 20, `accepted ${accepted}, refused ${refused}`);
  const t = server.webrtc!.trickle.refused;
  for (const reason of ['content-type', 'no-if-match', 'etag', 'malformed', 'too-large', 'ice-restart', 'mid', 'candidates', 'patches']) assert.ok((t[reason] ?? 0) >= 1, `counted ${reason}: ${JSON.stringify(t)}`);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /tributary_http_requests_total\{route="whip-trickle",status="412"\} 1/);
  assert.match(metrics, /tributary_http_requests_total\{route="whip-trickle",status="429"\} \d+/);
  // Still serving: a new session and its trickle work.
  const s2 = await session('after');
  assert.equal((await patch(s2.url, formatSdpFrag({ ufrag: s2.ufrag, pwd: s2.pwd, mid: s2.mid, candidates: [host(0)] }), { 'Content-Type': FRAG, 'If-Match': s2.etag })).status, 204);
  await fetch(s.url, { method: 'DELETE' });
  await fetch(s2.url, { method: 'DELETE' });
});

test('any text (fast-check) parses to a bounded fragment or a refusal, never a throw', () => {
  const line = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('a=end-of-candidates', 'a=mid:0', 'm=audio 9 UDP/TLS/RTP/SAVPF 0'),
    fc.tuple(fc.nat(), fc.integer({ min: -1, max: 70000 }), fc.constantFrom('udp', 'tcp', 'UDP'), fc.constantFrom('127.0.0.1', 'x.local', '::1', '999.1.1.1')).map(([p, port, tr, a]) => `a=candidate:1 1 ${tr} ${p} ${a} ${port} typ host`));
  fc.assert(fc.property(fc.array(line, { maxLength: 300 }), (lines) => {
    const r = parseSdpFrag(lines.join('\r\n'));
    if (r.ok) assert.ok(r.frag.candidates.length <= 200);
    else assert.match(r.message, /^malformed trickle-ice-sdpfrag: /);
  }), { numRuns: 500 });
});

test('webrtc.iceServers refuses what would break a Link header or is not an ICE server', () => {
  const cfg = (iceServers: unknown) => () => parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { iceServers } } as never);
  assert.throws(cfg([{ urls: 'http://turn.example' }]), /stun:, stuns:, turn: or turns:/);
  assert.throws(cfg([{ urls: 'turn:a>; rel="x"' }]));
  assert.throws(cfg([{ urls: 'turn:t', username: 'u"x', credential: 'p' }]), /no quotes/);
  assert.throws(cfg([{ urls: 'turn:t', username: 'u' }]), /username and credential go together/);
  assert.throws(cfg(Array.from({ length: 9 }, () => ({ urls: 'stun:s' }))));
  assert.doesNotThrow(cfg([{ urls: ['turn:t?transport=udp', 'turns:t:5349'], username: 'u', credential: 'p' }]));
});
