import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, messages } from './Pair.js';
import { SeededRandom, type EncryptionMode } from '../../src/transport/index.js';

/** Valid datagrams of every kind from a short lossy session with all features in use. */
function corpus(mode: EncryptionMode, seed: number): { up: Uint8Array[]; down: Uint8Array[]; p: Pair } {
  const up: Uint8Array[] = [];
  const down: Uint8Array[] = [];
  const p = new Pair({
    seed,
    client: { encryption: mode },
    up: { delayMs: 20, loss: 0.05, reorder: 0.1, filter: (d) => (up.push(d.slice()), true) },
    down: { delayMs: 20, loss: 0.05, filter: (d) => (down.push(d.slice()), true) },
  });
  p.connect();
  const c = p.client.openStream(p.now, { class: 'control', reliability: 'reliable', priority: 0 });
  const v = p.client.openStream(p.now, { class: 'video', reliability: 'deadline', priority: 2 });
  for (let i = 0; i < 60; i++) {
    p.client.send(p.now, v, new Uint8Array(i % 30 === 0 ? 9000 : 2500).fill(i), { deadline: p.now + 500, keyframe: i % 30 === 0 });
    if (i % 10 === 0) p.client.send(p.now, c, new Uint8Array(100).fill(i));
    if (i === 30) p.clientAddr = '10.0.0.9:7';
    p.run(p.now + 33);
  }
  p.run(p.now + 12_000);
  p.up.o.filter = undefined;
  p.down.o.filter = undefined;
  p.up.o.loss = p.down.o.loss = p.up.o.reorder = 0;
  return { up, down, p };
}

function mutate(rng: SeededRandom, src: Uint8Array): Uint8Array {
  const kind = rng.u32() % 6;
  if (kind === 0) {
    const d = src.slice();
    const flips = 1 + (rng.u32() % 4);
    for (let i = 0; i < flips; i++) d[rng.u32() % d.length]! ^= 1 << (rng.u32() % 8);
    return d;
  }
  if (kind === 1) return src.subarray(0, rng.u32() % src.length);
  if (kind === 2) return rng.bytes(rng.u32() % 1600);
  if (kind === 3) {
    // lying length: a 16-bit field somewhere past the header set to a large value
    const d = src.slice();
    const at = 14 + (rng.u32() % Math.max(1, d.length - 15));
    d[at] = 0xff;
    d[at + 1] = rng.u32() & 0xff;
    return d;
  }
  if (kind === 4) {
    const d = new Uint8Array(src.length + 1 + (rng.u32() % 64));
    d.set(src);
    d.set(rng.bytes(d.length - src.length), src.length);
    return d;
  }
  const d = src.slice();
  d.set(rng.bytes(Math.min(8, d.length - 14)), 14 + (rng.u32() % Math.max(1, d.length - 22)));
  return d;
}

test('fuzz: 1,000,000 mutated datagrams through endpoint and sessions, no crash, nothing unexpected', () => {
  const t0 = performance.now();
  let count = 0;
  const rng = new SeededRandom(99);
  for (const mode of ['all', 'none'] as EncryptionMode[]) {
    let { up, down, p } = corpus(mode, 11);
    let rebuilt = 0;
    for (let i = 0; i < 500_000; i++) {
      if (p.client.stats().state === 'closed' || !p.serverSession || p.serverSession.stats().state === 'closed') {
        ({ up, down, p } = corpus(mode, 12 + i));
        rebuilt++;
      }
      const toServer = (i & 1) === 0;
      const pool = toServer ? up : down;
      const d = mutate(rng, pool[rng.u32() % pool.length]!);
      // half the time a fresh packet number, so the packet gets past the replay window
      if ((rng.u32() & 1) === 0 && d.length >= 14) new DataView(d.buffer, d.byteOffset).setUint32(10, 1_000_000 + i);
      if (toServer) p.server.handleDatagram(p.now, p.clientAddr, d);
      else p.client.handleDatagram(p.now, 'default', d);
      count++;
      if ((i & 4095) === 0) {
        // keep both ends running, so later mutations meet live state
        p.client.pollTransmit(p.now);
        p.server.pollTransmit(p.now);
        assert.equal(p.client.stats().dropped['internal'], undefined);
        assert.equal(p.server.dropped['internal'], undefined);
        assert.equal(p.serverSession?.stats().dropped['internal'], undefined);
      }
    }
    if (mode === 'all') {
      // authenticated mode: none of it touched the session, which still works
      assert.equal(p.client.stats().state, 'connected');
      // Only what arrives after the garbage counts (the corpus itself delivered messages): a
      // new stream and message each way, so a window or key state the fuzz had spoiled shows.
      const from = { server: p.serverEvents.length, client: p.clientEvents.length };
      const ctl = p.client.openStream(p.now, { class: 'control', reliability: 'reliable', priority: 0 });
      p.client.send(p.now, ctl, new Uint8Array([7]));
      const back = p.serverSession!.openStream(p.now, { class: 'control', reliability: 'reliable', priority: 0 });
      p.serverSession!.send(p.now, back, new Uint8Array([8]));
      const after = () => ({ up: messages(p.serverEvents.slice(from.server), ctl), down: messages(p.clientEvents.slice(from.client), back) });
      p.run(p.now + 2000, () => after().up.length > 0 && after().down.length > 0);
      assert.deepEqual(after().up.map((m) => [...m.data]), [[7]], 'client -> server after the fuzz');
      assert.deepEqual(after().down.map((m) => [...m.data]), [[8]], 'server -> client after the fuzz');
      console.log('fuzz all-mode drops:', JSON.stringify(p.serverSession!.stats().dropped), JSON.stringify(p.server.dropped));
      assert.equal(rebuilt, 0);
    } else console.log(`fuzz none-mode: ${rebuilt} sessions closed by mutated (unauthenticated) frames and rebuilt`);
  }
  console.log(`fuzz: ${count} mutated datagrams in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(count, 1_000_000);
});
