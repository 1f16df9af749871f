// A PES without a stated length (ffmpeg writes video so) ends at its stuffed last packet, not
// when the next PES begins: over SRT that wait was a frame interval or more of server delay.
// The rule is learnt per PID, so a muxer that stuffs mid-PES still demuxes whole frames.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { DemuxOutput, MediaFrame } from '../../../src/media/frame.js';
import { TS_PACKET, TsDemuxer } from '../../../src/media/ts/TsDemuxer.js';
import { concat } from '../../fuzz.js';
import { requireBinary } from '../mp4/source.js';

/** 2 s of H.264 (25 fps, no B-frames) + AAC in MPEG-TS from Debian's ffmpeg. */
function encode(): Uint8Array {
  requireBinary('ffmpeg');
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=2',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', 'pipe:1',
  ], { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr?.toString());
  return new Uint8Array(r.stdout);
}

const pidOf = (p: Uint8Array): number => ((p[1]! & 0x1f) << 8) | p[2]!;
const unitStart = (p: Uint8Array): boolean => (p[1]! & 0x40) !== 0;
function payloadOf(p: Uint8Array): Uint8Array {
  const afc = (p[3]! >> 4) & 3;
  const off = afc & 2 ? 5 + p[4]! : 4;
  return afc & 1 ? p.subarray(off) : new Uint8Array(0);
}

function videoFrames(outs: DemuxOutput[]): MediaFrame[] {
  return outs.flatMap((o) => (o.type === 'frame' && o.frame.kind === 'video' ? [o.frame] : []));
}

/** The video PID: the one whose PES stream id is 0xE0. */
function videoPid(ts: Uint8Array): number {
  for (let i = 0; i < ts.length; i += TS_PACKET) {
    const p = ts.subarray(i, i + TS_PACKET);
    const pl = payloadOf(p);
    if (unitStart(p) && pl[0] === 0 && pl[1] === 0 && pl[2] === 1 && pl[3] === 0xe0) return pidOf(p);
  }
  throw new Error('no video PES');
}

/**
 * The same TS with each video PES cut again into packets of `sizes(i)` payload bytes (the rest
 * stuffed), CC renumbered: a muxer that stuffs where ffmpeg does not.
 */
function repacketize(ts: Uint8Array, pid: number, sizes: (pesIndex: number) => number): Uint8Array {
  const out: Uint8Array[] = [];
  let pes: Uint8Array[] = [];
  let index = 0;
  let cc = 0;
  const flushPes = (): void => {
    if (!pes.length) return;
    const body = concat(pes);
    pes = [];
    const step = sizes(index++);
    for (let o = 0; o < body.length; o += step) {
      const take = Math.min(step, body.length - o);
      const p = new Uint8Array(TS_PACKET).fill(0xff);
      p[0] = 0x47;
      p[1] = (o === 0 ? 0x40 : 0) | (pid >> 8);
      p[2] = pid & 0xff;
      const af = 184 - take;
      p[3] = (af > 0 ? 0x30 : 0x10) | (cc++ & 0x0f);
      if (af > 0) {
        p[4] = af - 1;
        if (af > 1) p[5] = 0;
      }
      p.set(body.subarray(o, o + take), 4 + af);
      out.push(p);
    }
  };
  for (let i = 0; i < ts.length; i += TS_PACKET) {
    const p = ts.subarray(i, i + TS_PACKET);
    if (pidOf(p) !== pid) {
      out.push(p);
      continue;
    }
    if (unitStart(p)) flushPes();
    pes.push(payloadOf(p));
  }
  flushPes();
  return concat(out);
}

/** Pushes one packet at a time; returns the frames and, for each, the packet index it came out at. */
function demuxByPacket(ts: Uint8Array): { frames: MediaFrame[]; at: number[]; demuxer: TsDemuxer } {
  const demuxer = new TsDemuxer();
  const frames: MediaFrame[] = [];
  const at: number[] = [];
  for (let i = 0; i < ts.length / TS_PACKET; i++) {
    for (const f of videoFrames(demuxer.push(ts.subarray(i * TS_PACKET, (i + 1) * TS_PACKET)))) {
      frames.push(f);
      at.push(i);
    }
  }
  for (const f of videoFrames(demuxer.flush())) {
    frames.push(f);
    at.push(ts.length / TS_PACKET);
  }
  return { frames, at, demuxer };
}

/** For each video PES (by its first packet), the index of its last packet. */
function lastPackets(ts: Uint8Array, pid: number): number[] {
  const ends: number[] = [];
  let last = -1;
  for (let i = 0; i < ts.length / TS_PACKET; i++) {
    const p = ts.subarray(i * TS_PACKET, (i + 1) * TS_PACKET);
    if (pidOf(p) !== pid || !(((p[3]! >> 4) & 1) === 1)) continue;
    if (unitStart(p) && last >= 0) ends.push(last);
    last = i;
  }
  ends.push(last);
  return ends;
}

function sameFrames(a: MediaFrame[], b: MediaFrame[]): void {
  assert.equal(a.length, b.length, 'frame count');
  for (let i = 0; i < a.length; i++) {
    assert.equal(a[i]!.dts, b[i]!.dts, `frame ${i} dts`);
    assert.equal(a[i]!.pts, b[i]!.pts, `frame ${i} pts`);
    assert.deepEqual(Buffer.from(a[i]!.data), Buffer.from(b[i]!.data), `frame ${i} data`);
  }
}

test('ffmpeg video PES (no stated length) come out at their own stuffed last packet, whole', () => {
  const ts = encode();
  const pid = videoPid(ts);
  const byPacket = demuxByPacket(ts);
  // The same frames as demuxing the whole file in one push.
  const whole = new TsDemuxer();
  sameFrames(byPacket.frames, videoFrames([...whole.push(ts), ...whole.flush()]));
  const ends = lastPackets(ts, pid);
  assert.equal(byPacket.frames.length, ends.length);
  // After the first few (learning the PID), a frame is out at its last packet, not later.
  let early = 0;
  for (let i = 3; i < ends.length; i++) if (byPacket.at[i] === ends[i]) early++;
  const stuffedLast = ends.filter((e) => {
    const p = ts.subarray(e * TS_PACKET, (e + 1) * TS_PACKET);
    return ((p[3]! >> 4) & 2) !== 0;
  }).length;
  assert.ok(stuffedLast >= ends.length * 0.8, `${stuffedLast} of ${ends.length} PES end in a stuffed packet`);
  assert.ok(early >= stuffedLast - 4, `${early} of ${ends.length - 3} frames out at their last packet`);
  assert.equal(byPacket.demuxer.stats.falseStuffedEnds, 0);
  assert.ok(byPacket.demuxer.stats.stuffedEnds >= early);
});

test('a muxer that stuffs mid-PES: never trusted, or given up at the first miss; frames survive', () => {
  const ts = encode();
  const pid = videoPid(ts);
  const reference = demuxByPacket(ts).frames;
  // Stuffing in every packet from the start: the first miss turns the rule off, nothing lost.
  const always = demuxByPacket(repacketize(ts, pid, () => 100));
  sameFrames(always.frames, reference);
  assert.equal(always.demuxer.stats.stuffedEnds, 0);
  // Full packets (stuffing only at the end) for ten PES, then stuffing mid-PES: one frame is
  // cut and counted, the rest are whole.
  const late = demuxByPacket(repacketize(ts, pid, (i) => (i < 10 ? 184 : 120)));
  assert.equal(late.demuxer.stats.falseStuffedEnds, 1);
  assert.ok(late.demuxer.stats.droppedPes >= 1);
  assert.equal(late.frames.length, reference.length);
  const cut = late.frames.findIndex((f, i) => Buffer.compare(Buffer.from(f.data), Buffer.from(reference[i]!.data)) !== 0);
  assert.ok(cut >= 10, `first differing frame ${cut}`);
  sameFrames(late.frames.slice(cut + 1), reference.slice(cut + 1));
});

test('a packet lost after a stuffed end is no evidence: the rule stays on', () => {
  const ts = encode();
  const pid = videoPid(ts);
  // Drop the first packet of the 11th video PES (a hole, as an SRT TLPKTDROP leaves): the
  // packet seen after the stuffed end of the 10th is then a continuation of the lost PES.
  const packets: Uint8Array[] = [];
  let pes = 0;
  for (let i = 0; i < ts.length; i += TS_PACKET) {
    const p = ts.subarray(i, i + TS_PACKET);
    if (pidOf(p) === pid && unitStart(p) && ++pes === 11) continue;
    packets.push(p);
  }
  const holed = concat(packets);
  const d = demuxByPacket(holed);
  assert.equal(d.frames.length, lastPackets(ts, pid).length - 1, 'the holed frame is lost, no other');
  assert.equal(d.demuxer.stats.falseStuffedEnds, 0);
  // (the lost PES's rest counts here as the 10th's: that one frame does not match)
  const ends = lastPackets(holed, pid);
  const early = d.at.filter((at, i) => i >= 3 && at === ends[i]).length;
  assert.ok(early >= d.frames.length - 8, `${early} of ${d.frames.length} frames out at their last packet`);
});
