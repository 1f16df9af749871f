import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { P2pPeer } from '../../src/client/p2p/P2pPeer.js';
import { pushRtmp, stop, waitFor } from '../server/http/tools.js';
import { startCoturn, type Coturn } from '../webrtc/coturn.js';
import { serve, type Served } from './serveProcess.js';

// Native peers (the P2pPeer behind `tributary play --p2p`, werift data channels) told by the
// edge to use TURN only (p2p.iceTransportPolicy 'relay'): slices must still cross between them,
// through Debian's coturn on loopback.
let turn: Coturn;
let served: Served;
let push: ChildProcess;

before(async () => {
  turn = await startCoturn('nodepeer', 'node-relay-secret');
  served = await serve({ p2p: { enabled: true, iceServers: [{ urls: turn.url, username: turn.user, credential: turn.pass }], iceTransportPolicy: 'relay' } });
  push = pushRtmp(`rtmp://127.0.0.1:${served.rtmpPort}/live/cam`, 600);
});

after(async () => {
  if (push) await stop(push);
  await served?.close();
  await turn?.stop();
});

test('two native peers with relay candidates only exchange slices through a real coturn', { timeout: 120_000 }, async () => {
  const url = `http://127.0.0.1:${served.httpPort}/live/cam`;
  // The stream must be live before a peer may join (P2pService refuses "not live").
  await new Promise((r) => setTimeout(r, 3000));
  const peers: P2pPeer[] = [];
  try {
    const a = new P2pPeer({ url, write: () => undefined });
    peers.push(a);
    await waitFor('the first peer plays', () => (a.stats.played > 30 ? true : undefined), 30_000);
    const b = new P2pPeer({ url, write: () => undefined });
    peers.push(b);
    await waitFor('a peer takes slices from the other through coturn', () => (a.stats.peerBytes + b.stats.peerBytes > 0 ? true : undefined), 45_000).catch((e: Error) => {
      throw new Error(`${e.message}\nA ${JSON.stringify(a.stats)}\nB ${JSON.stringify(b.stats)}\ncoturn: ${turn.log().slice(-3000)}`);
    });
    const pairs = [...(await a.pairs()), ...(await b.pairs())];
    console.log(`peer A: ${JSON.stringify(a.stats)}; peer B: ${JSON.stringify(b.stats)}; pairs ${pairs}`);
    assert.ok(pairs.length >= 1 && pairs.every((p) => p.startsWith('relay/')), `selected pairs ${pairs}`);
    assert.ok(a.stats.channels + b.stats.channels >= 1, 'a data channel was open');
    const log = turn.log();
    // Both peers allocated on coturn as the edge's user, and coturn relayed between them:
    // with relay-only ICE there is no other way for a byte to go.
    assert.ok((log.match(/ALLOCATE processed, success/g) ?? []).length >= 2, `allocations: ${log.slice(-2000)}`);
    assert.match(log, /nodepeer/);
    assert.match(log, /(CHANNEL_BIND|CREATE_PERMISSION) processed, success/);
  } finally {
    for (const p of peers) p.stop('test over');
  }
});
