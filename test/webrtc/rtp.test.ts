import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { H264Depacketizer, MAX_AU_BYTES, type AccessUnit } from '../../src/webrtc/rtp/H264Depacketizer.js';
import { packetizeH264 } from '../../src/webrtc/rtp/H264Packetizer.js';
import { ReorderBuffer } from '../../src/webrtc/rtp/ReorderBuffer.js';
import { RtpClock } from '../../src/webrtc/rtp/RtpClock.js';

const idr = (n: number) => new Uint8Array(n).map((_, i) => (i === 0 ? 0x65 : (i * 7) & 0xff));
const sps = new Uint8Array([0x67, 0x42, 0xe0, 0x1f, 0xaa]);
const pps = new Uint8Array([0x68, 0xce, 0x3c, 0x80]);
const slice = (n: number) => new Uint8Array(n).map((_, i) => (i === 0 ? 0x41 : i & 0xff));

function roundTrip(nals: Uint8Array[], mtu: number): Uint8Array[] | undefined {
  const d = new H264Depacketizer();
  const payloads = packetizeH264(nals, mtu);
  let out: AccessUnit | undefined;
  payloads.forEach((p, i) => (out = d.push(p, 1000, i === payloads.length - 1, 0) ?? out));
  return out?.nals;
}

test('H.264 packetizer and depacketizer round-trip single NAL units and FU-A fragments', () => {
  const nals = [sps, pps, idr(5000)];
  const back = roundTrip(nals, 1200);
  assert.deepEqual(back, nals);
  assert.ok(packetizeH264(nals, 1200).every((p) => p.length <= 1200));
  assert.ok(packetizeH264(nals, 1200).length >= 5, 'the 5000-byte IDR was fragmented');
});

test('a picture with a lost packet is dropped, and so is every picture until the next IDR; a PLI is asked for', () => {
  const d = new H264Depacketizer();
  const key = packetizeH264([idr(3000)], 1200);
  key.forEach((p, i) => d.push(p, 0, i === key.length - 1, 0));
  assert.equal(d.takeKeyframeRequest(), false);
  const p1 = packetizeH264([slice(3000)], 1200);
  // The middle fragment of the next picture is lost.
  assert.equal(d.push(p1[0]!, 3000, false, 0), undefined);
  assert.equal(d.push(p1[2]!, 3000, true, 1), undefined);
  assert.equal(d.takeKeyframeRequest(), true);
  const p2 = packetizeH264([slice(100)], 1200);
  assert.equal(d.push(p2[0]!, 6000, true, 0), undefined, 'a P-frame after the loss is not passed on');
  const k2 = packetizeH264([idr(100)], 1200);
  assert.ok(d.push(k2[0]!, 9000, true, 0)?.keyframe);
  assert.equal(d.dropped.pictures, 2);
});

test('the depacketizer survives hostile payloads: no throw, bounded access units', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 1500 }), fc.boolean(), fc.nat(3), fc.nat(2)), { maxLength: 200 }), (packets) => {
    const d = new H264Depacketizer();
    for (const [p, marker, ts, lost] of packets) {
      const au = d.push(p, ts, marker, lost);
      if (au) assert.ok(au.nals.reduce((a, n) => a + n.length, 0) <= MAX_AU_BYTES);
    }
  }), { numRuns: 300 });
  // A lying STAP-A size and an FU-A continuation without a start are dropped and counted.
  const d = new H264Depacketizer();
  assert.equal(d.push(new Uint8Array([24, 0xff, 0xff, 0x65]), 0, true, 0), undefined);
  assert.equal(d.push(new Uint8Array([28, 0x05, 1, 2, 3]), 1, true, 0), undefined);
  assert.equal(d.dropped.packets, 2);
});

test('the reorder buffer puts packets back in order, waits for a gap, then gives it up and says how many were lost', () => {
  const b = new ReorderBuffer<number>({ maxWaitMs: 100, capacity: 64 });
  const seqs = (r: { item: number }[]) => r.map((x) => x.item);
  assert.deepEqual(seqs(b.push(65534, 65534, 0)), [65534]);
  assert.deepEqual(seqs(b.push(0, 0, 1)), [], 'seq 65535 is missing: 0 waits');
  assert.deepEqual(seqs(b.push(65535, 65535, 2)), [65535, 0], 'the wrap and the late packet are put in order');
  assert.deepEqual(seqs(b.push(3, 3, 10)), []);
  assert.equal(b.nextWake(), 110);
  assert.deepEqual(b.poll(109), []);
  const r = b.poll(110);
  assert.deepEqual(r, [{ item: 3, lostBefore: 2 }]);
  assert.equal(b.lost, 2);
  assert.deepEqual(b.push(1, 1, 120), [], 'a packet after its gap was given up is late');
  assert.equal(b.late, 1);
});

test('a second gap gets its own full wait once the first one is filled', () => {
  const b = new ReorderBuffer<number>({ maxWaitMs: 100, capacity: 64 });
  b.push(10, 10, 0);
  b.push(12, 12, 0); // 11 missing since t=0
  b.push(14, 14, 90); // 13 missing too
  assert.deepEqual(b.push(11, 11, 95).map((r) => r.item), [11, 12]);
  assert.equal(b.nextWake(), 195, '13 is waited for from when it became the gap at the head');
  assert.deepEqual(b.poll(150), []);
  assert.deepEqual(b.poll(195), [{ item: 14, lostBefore: 1 }]);
});

test('the reorder buffer holds at most its capacity whatever the sender does', () => {
  fc.assert(fc.property(fc.array(fc.nat(65535), { maxLength: 2000 }), (seqs) => {
    const b = new ReorderBuffer<number>({ maxWaitMs: 1000, capacity: 32 });
    let held = 0;
    for (const s of seqs) {
      held += 1 - b.push(s, s, 0).length;
      assert.ok(held <= 33, `held ${held}`);
      held = Math.max(0, held);
    }
  }), { numRuns: 100 });
});

test('the RTP clock unwraps 32-bit timestamps and re-anchors on a jump', () => {
  const c = new RtpClock(90000);
  assert.equal(c.toMs(2 ** 32 - 900, 50), 50);
  assert.equal(c.toMs(1800, 80), 50 + 30);
  assert.equal(c.toMs(1_000_000_000, 120), 120, 'a jump of hours is a new timeline');
});
