import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient } from '../rtmp/RawClient.js';
import { publish, stop } from '../rtmp/tools.js';
import { ChildServer } from './child.js';
import { MB, attacker, header, peakWhile, pour } from './attack.js';

/** A player of live/good over RTMP, in this process; counts the video messages it gets. */
async function viewer(port: number): Promise<RawClient> {
  for (let tries = 0; ; tries++) {
    const v = await RawClient.open(port);
    await v.handshake();
    const sid = await v.connectAndCreate();
    v.command(sid, 'play', 3, null, 'good');
    const started = await v.waitForCommand('onStatus', undefined, 5000);
    if ((started[3] as { code?: string }).code === 'NetStream.Play.Start' || tries > 20) return v;
    v.close();
    await new Promise((r) => setTimeout(r, 250)); // ffmpeg has not started publishing yet
  }
}

test('three connections at chunk size 1, each with two 8 MiB messages unfinished: the server lives, holds about what arrived, and a real stream keeps flowing', async () => {
  const child = await ChildServer.start({}, 256);
  const pub = publish(`rtmp://127.0.0.1:${child.rtmpPort}/live/good`, 600); // stopped at the end; long enough for a loaded machine
  const clients: RawClient[] = [];
  try {
    const v = await viewer(child.rtmpPort);
    clients.push(v);
    await v.waitFor((m) => m.type === 9 && v.count(9) > 10, 15_000);
    const before = await child.mem();

    const L = 8 << 20;
    // After the two headers, chunks alternate between the two messages, one payload byte each.
    const block = new Uint8Array(1 << 20);
    for (let i = 0; i < block.length; i += 4) block.set([0xc4, i & 255, 0xc5, (i >> 2) & 255], i);
    const attack = async (): Promise<RawClient> => {
      const c = await attacker(child.rtmpPort, 1);
      clients.push(c);
      await pour(c, new Uint8Array([...header(4, L), 0x55, ...header(5, L), 0x55]));
      // Each message gets all but its last byte: L - 2 more, 4 bytes of chunks per pair.
      for (let pairs = L - 2; pairs > 0; pairs -= block.length / 4) {
        if (!(await pour(c, block.subarray(0, Math.min(pairs, block.length / 4) * 4)))) break;
      }
      return c;
    };
    const framesBefore = v.count(9);
    const t0 = Date.now();
    const peak = await peakWhile(child, Promise.all([attack(), attack(), attack()]));
    const seconds = (Date.now() - t0) / 1000;
    const held = await child.mem();
    const framesDuring = v.count(9) - framesBefore;
    console.log(`chunk size 1 x 3: ${MB(3 * 2 * 2 * L)} sent in ${seconds.toFixed(1)} s; server rss ${MB(before.rss)} -> peak ${MB(peak.rss)}, heap peak ${MB(peak.heapUsed)}, ` +
      `array buffers ${MB(before.arrayBuffers)} -> peak ${MB(peak.arrayBuffers)}, budget held ${MB(held.budgetUsed)}; viewer got ${framesDuring} video frames meanwhile`);

    assert.equal(child.exit, undefined, 'the server is alive');
    assert.ok(peak.heapUsed - before.heapUsed < 64 << 20, `heap grew ${MB(peak.heapUsed - before.heapUsed)}`);
    // What the attack may make it hold: the six buffers (48 MiB) and read buffers in flight.
    assert.ok(peak.arrayBuffers - before.arrayBuffers < 72 << 20, `array buffers grew ${MB(peak.arrayBuffers - before.arrayBuffers)}`);
    assert.ok(peak.rss - before.rss < 200 << 20, `rss grew ${MB(peak.rss - before.rss)}`);
    assert.ok(held.budgetUsed >= 3 * 2 * (L - 1), `the budget counts what is held: ${held.budgetUsed}`);
    assert.ok(framesDuring >= Math.floor(seconds * 30 * 0.5), `viewer got ${framesDuring} frames in ${seconds.toFixed(1)} s`);
    for (const c of clients.slice(1)) c.close();
    // Closing the attackers gives their charges back.
    for (let i = 0; i < 50 && (await child.mem()).budgetUsed > 1 << 20; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok((await child.mem()).budgetUsed < 1 << 20, 'charges given back on close');
    const after = v.count(9);
    await v.waitFor((m) => m.type === 9 && v.count(9) > after + 15, 5000);
  } finally {
    for (const c of clients) c.close();
    await stop(pub);
    await child.stop();
  }
});

test('one unfinished message fed one byte per 64 KiB of filler: the read buffers are not kept', async () => {
  const child = await ChildServer.start({}, 256);
  const clients: RawClient[] = [];
  try {
    const c = await attacker(child.rtmpPort, 1);
    clients.push(c);
    await pour(c, new Uint8Array([...header(4, 8 << 20), 0x55]));
    // Each write: one byte of the unfinished message on chunk stream 4, then a complete message
    // (an Acknowledgement of 32,761 bytes, which the server reads and ignores) as filler.
    const F = 32_761;
    const write = new Uint8Array(2 + 12 + 1 + 2 * (F - 1));
    write.set([0xc4, 0x01, ...header(2, F, 3), 0]);
    for (let i = 15; i < write.length; i += 2) write[i] = 0xc2;
    const before = await child.mem();
    const writes = 800;
    const run = (async () => {
      for (let i = 0; i < writes; i++) if (!(await pour(c, write))) throw new Error(`closed after ${i} writes`);
      // A round trip: everything written has been read.
      c.send(3, 20, 0, 0, new Uint8Array([0x02, 0, 7, ...Buffer.from('connect'), 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0x09]));
    })();
    const peak = await peakWhile(child, run);
    await new Promise((r) => setTimeout(r, 300));
    const after = await child.mem();
    console.log(`1 byte per 64 KiB x ${writes} (${MB(writes * write.length)} sent): array buffers ${MB(before.arrayBuffers)} -> ${MB(after.arrayBuffers)} (peak ${MB(peak.arrayBuffers)}), ` +
      `rss ${MB(before.rss)} -> peak ${MB(peak.rss)}, budget held ${after.budgetUsed} bytes`);
    assert.equal(c.isClosed, false, 'the connection is within its limits: it stays open');
    assert.ok(after.arrayBuffers - before.arrayBuffers < 8 << 20, `array buffers grew ${MB(after.arrayBuffers - before.arrayBuffers)}`);
    assert.ok(after.budgetUsed < 64 << 10, `budget held ${after.budgetUsed}`);
  } finally {
    for (const c of clients) c.close();
    await child.stop();
  }
});
