import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak, SOAK_DEFAULTS } from '../../../src/bench/soak/run.js';

// A short soak: the server in its own process under publishers that restart, viewers of every
// protocol (keeping up, slow, dead, churning) and a hostile client per protocol. Timing figures
// (event-loop delay, /healthz) belong to `bench soak` on a quiet machine; this checks what must
// hold on any machine: the server stays up, viewers that keep up over TCP lose nothing and are
// never closed by the server (publisher restarts included), the attackers are cut.
test('bench soak: server up, keeping-up viewers lose nothing through publisher restarts, attackers cut', { timeout: 120_000 }, async () => {
  const r = await runSoak({ ...SOAK_DEFAULTS, duration: 30, publishers: 3, viewers: 60, bitrate: 0.2, restartEvery: 8, warmup: 5, sample: 5 });
  assert.equal(r.serverExit, undefined, 'the server answered throughout');
  assert.ok(r.samples.length >= 5, `samples: ${r.samples.length}`);
  assert.ok(r.publisherRestarts >= 2, `publisher restarts: ${r.publisherRestarts}`);
  for (const p of ['flv', 'ws', 'rtmp']) {
    assert.equal(r.legit.lostByProtocol[p] ?? 0, 0, `${p} viewers that keep up lost frames: ${JSON.stringify(r.legit.lostByProtocol)}`);
    // the viewers there from the start, through every restart (churn's rejoins are apart)
    const ended = r.ended[`${p}/legit`] ?? {};
    assert.equal(ended.server_closed ?? 0, 0, `${p} viewers closed by the server: ${JSON.stringify(r.ended)}`);
  }
  assert.ok(r.legit.received > 10_000, `frames received by keeping-up viewers: ${r.legit.received}`);
  assert.ok((r.hostile.rtmp_chunk1_cut ?? 0) >= 1, `the chunk-size-1 attacker was cut: ${JSON.stringify(r.hostile)}`);
  assert.ok((r.hostile.http_slowloris_cut ?? 0) >= 1, `slowloris was cut: ${JSON.stringify(r.hostile)}`);
  // Dead viewers are not asserted here: at this bitrate the kernel's socket buffers hold 30 s of
  // stream, so nothing is behind yet (test/server/http/slowViewers.test.ts cuts them).
});
