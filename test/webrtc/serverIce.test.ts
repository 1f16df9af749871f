import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeToken } from '../../src/server/auth.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import { onlyAnnounced } from '../../src/webrtc/peer.js';
import { startCoturn, type Coturn } from './coturn.js';
import { makeOffer } from './offers.js';

// webrtc.serverUsesIceServers: the server's own ICE agent gathers through the configured TURN
// server (real coturn), so its answer carries a relay candidate; without it (the default) the
// answer names host candidates only and coturn hears nothing from the server.
const secret = 'server-ice-secret-01234567';
const token = (key: string) => makeToken(secret, { action: 'publish', app: 'live', key, expiresAt: Date.now() + 600_000 });
let turn: Coturn;
let offer: Awaited<ReturnType<typeof makeOffer>>;
const servers: Server[] = [];

before(async () => {
  turn = await startCoturn('srv', 'server-side-pass');
  offer = await makeOffer({ video: 'H264', direction: 'sendonly' });
});

after(async () => {
  await offer?.pc.close().catch(() => undefined);
  for (const s of servers) await s.close();
  await turn?.stop();
});

async function answerFrom(serverUsesIceServers: boolean | undefined, portMin: number, key: string): Promise<string[]> {
  const server = new Server(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    auth: { secret, publish: true },
    webrtc: { portMin, portMax: portMin + 49, ...(serverUsesIceServers === undefined ? {} : { serverUsesIceServers }), iceServers: [{ urls: turn.url, username: turn.user, credential: turn.pass }] },
  }), { logger: createLogger('silent') });
  servers.push(server);
  const base = `http://127.0.0.1:${(await server.start()).httpPort}`;
  const res = await fetch(`${base}/whip/live/${key}`, { method: 'POST', body: offer.sdp, headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token(key)}` } });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  await fetch(base + res.headers.get('location')!, { method: 'DELETE' });
  return text.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
}

const allocations = () => (turn.log().match(/ALLOCATE processed, success/g) ?? []).length;

test('by default the server gathers host candidates only, though iceServers are configured (they are for the clients)', async () => {
  const before = allocations();
  const cands = await answerFrom(undefined, 23800, 'plain');
  console.log(`default answer: ${JSON.stringify(cands)}`);
  assert.ok(cands.length >= 1);
  for (const c of cands) assert.match(c, / 127\.0\.0\.1 \d+ typ host/);
  assert.equal(allocations(), before, 'no TURN allocation by the server');
});

test('with serverUsesIceServers the answer carries a relay candidate allocated on coturn', async () => {
  const before = allocations();
  const cands = await answerFrom(true, 23850, 'natted');
  console.log(`answer with serverUsesIceServers: ${JSON.stringify(cands)}`);
  const relay = cands.filter((c) => / typ relay/.test(c));
  assert.equal(relay.length >= 1, true, `no relay candidate in ${JSON.stringify(cands)}`);
  assert.match(relay[0]!, /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ relay raddr \S+ rport \d+/);
  assert.ok(cands.some((c) => / typ host/.test(c)), 'host candidates stay');
  assert.ok(allocations() > before, `coturn made an allocation: ${turn.log().slice(-1500)}`);
});

test('onlyAnnounced drops host candidates on other interfaces but keeps relay and server-reflexive ones', () => {
  const sdp = ['v=0', 'a=candidate:1 1 udp 2116026367 10.0.0.5 23800 typ host', 'a=candidate:2 1 udp 2116026367 192.0.2.10 23800 typ host',
    'a=candidate:3 1 udp 1686052607 198.51.100.7 23801 typ srflx raddr 10.0.0.5 rport 23801', 'a=candidate:4 1 udp 16777215 203.0.113.9 49152 typ relay raddr 10.0.0.5 rport 23802', ''].join('\r\n');
  const kept = onlyAnnounced(sdp, '10.0.0.5').split('\r\n').filter((l) => l.startsWith('a=candidate:')).map((l) => l.split(' ')[0]);
  assert.deepEqual(kept, ['a=candidate:1', 'a=candidate:3', 'a=candidate:4']);
});
