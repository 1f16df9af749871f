import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCoturn, type Coturn } from '../webrtc/coturn.js';
import { startSwarm, type Swarm } from './swarm.js';
import { twoTabs } from './tabs.js';

// Debian's coturn on loopback with one static user; the browsers may use relay candidates only.
let turn: Coturn;
let swarm: Swarm;

before(async () => {
  turn = await startCoturn('viewer', 'relay-secret');
  swarm = await startSwarm({ iceServers: [{ urls: turn.url, username: turn.user, credential: turn.pass }], iceTransportPolicy: 'relay' }, 60);
});

after(async () => {
  await swarm?.close();
  await turn?.stop();
});

test('two tabs with relay candidates only exchange slices through a real coturn', async () => {
  const { second } = await twoTabs(swarm.served, swarm.browser);
  assert.ok(second.p2p!.pairs.length > 0 && second.p2p!.pairs.every((p) => p === 'relay/relay'), `pairs ${second.p2p!.pairs}`);
  // coturn saw the allocations and carried the bytes (its session log names the user).
  assert.match(turn.log(), /viewer/);
  console.log(`second tab: ${JSON.stringify(second)}`);
});
