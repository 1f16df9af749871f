import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DemuxOutput, MediaFrame } from '../../src/media/frame.js';
import { RenditionSwitch } from '../../src/client/send/RenditionSwitch.js';

const FRAME_MS = 40;
const GOP = 5;

/** Frame n of rung r: a keyframe every GOP frames, its payload says which rung made it. */
function frame(rung: number, n: number, kind: 'video' | 'audio' = 'video'): DemuxOutput {
  const f: MediaFrame = { kind, codec: kind === 'video' ? 'h264' : 'aac', dts: n * FRAME_MS, pts: n * FRAME_MS, keyframe: kind === 'video' && n % GOP === 0, reference: true, data: new Uint8Array([rung, n]) };
  return { type: 'frame', frame: f };
}

const frames = (outs: DemuxOutput[]) => outs.flatMap((o) => (o.type === 'frame' ? [o.frame] : []));
const sent = (outs: DemuxOutput[]) => frames(outs).map((f) => `${f.data[0]}:${f.dts / FRAME_MS}`);

function ladder(): RenditionSwitch {
  return new RenditionSwitch({ rungsBps: [300_000, 1_200_000], audioBps: 64_000, frameMs: FRAME_MS });
}

test('starts on the rung that fits 1 Mbit/s and sends from its first keyframe', () => {
  const s = ladder();
  const out = [...s.push(0, frame(0, 0)), ...s.push(1, frame(1, 0)), ...s.push(0, frame(0, 1))];
  assert.deepEqual(sent(out), ['0:0', '0:1']);
  assert.equal(s.bitrateBps, 300_000);
});

test('a higher target moves to the higher rung at the next keyframe, when the new rung is ahead of the old one', () => {
  const s = ladder();
  const out: DemuxOutput[] = [];
  for (let n = 0; n < 3; n++) out.push(...s.push(0, frame(0, n)), ...s.push(1, frame(1, n)));
  s.setTarget(3_000_000);
  // Rung 1 runs two frames ahead: its keyframe at 5 is queued before rung 0's keyframe at 5 comes.
  for (let n = 3; n < 10; n++) {
    out.push(...s.push(1, frame(1, n)));
    if (n >= 5) out.push(...s.push(0, frame(0, n - 2)));
    else out.push(...s.push(0, frame(0, n)));
  }
  out.push(...s.push(0, frame(0, 8)), ...s.push(0, frame(0, 9)));
  assert.deepEqual(sent(out), ['0:0', '0:1', '0:2', '0:3', '0:4', '1:5', '1:6', '1:7', '1:8', '1:9']);
  assert.equal(s.stats.switches, 1);
  assert.equal(s.stats.misaligned, 0);
});

test('when the new rung is behind, the switch waits for its keyframe: no picture missing or doubled', () => {
  const s = ladder();
  const out: DemuxOutput[] = [];
  for (let n = 0; n < 5; n++) out.push(...s.push(0, frame(0, n)), ...s.push(1, frame(1, n)));
  s.setTarget(3_000_000);
  for (let n = 5; n < 8; n++) out.push(...s.push(0, frame(0, n)));
  for (let n = 5; n < 8; n++) out.push(...s.push(1, frame(1, n)));
  assert.deepEqual(sent(out), ['0:0', '0:1', '0:2', '0:3', '0:4', '1:5', '1:6', '1:7']);
});

test('a target in the band between the two thresholds does not flap the rung', () => {
  const s = ladder();
  s.setTarget(3_000_000);
  assert.equal(s.stats.wantedRung, 1);
  // 1.264 Mbit/s of media needs 1.487 Mbit/s to go up, and stays up down to 1.33 Mbit/s.
  s.setTarget(1_400_000);
  assert.equal(s.stats.wantedRung, 1);
  s.setTarget(1_300_000);
  assert.equal(s.stats.wantedRung, 0);
  s.setTarget(1_450_000);
  assert.equal(s.stats.wantedRung, 0);
  for (const bad of [0, -5, NaN, Infinity]) s.setTarget(bad);
  assert.equal(s.stats.wantedRung, 0);
});

test('misaligned keyframes: the new rung is dropped until its own keyframe, and counted', () => {
  const s = ladder();
  const out: DemuxOutput[] = [];
  for (let n = 0; n < 5; n++) out.push(...s.push(0, frame(0, n)));
  s.setTarget(3_000_000);
  out.push(...s.push(0, frame(0, 5)));
  // Rung 1's frame 5 is no keyframe here (its GOP is shifted by two frames).
  const shifted = (n: number): DemuxOutput => {
    const o = frame(1, n) as { type: 'frame'; frame: MediaFrame };
    return { type: 'frame', frame: { ...o.frame, keyframe: n % GOP === 2 } };
  };
  for (let n = 5; n < 9; n++) out.push(...s.push(1, shifted(n)));
  assert.deepEqual(sent(out), ['0:0', '0:1', '0:2', '0:3', '0:4', '1:7', '1:8']);
  assert.equal(s.stats.misaligned, 1);
  assert.equal(s.stats.droppedWaitingKeyframe, 2);
});

test('after an encoder restart the timeline continues after the last frame sent, from the new process\'s first keyframe', () => {
  const s = ladder();
  const out: DemuxOutput[] = [];
  for (let n = 0; n < 8; n++) out.push(...s.push(0, frame(0, n)), ...s.pushAudio(frame(9, n, 'audio')));
  s.restart();
  // The new process starts its timestamps at 0 again.
  const after: DemuxOutput[] = [];
  for (let n = 0; n < 3; n++) after.push(...s.push(0, frame(0, n)));
  const v = frames(after);
  assert.deepEqual(v.map((f) => f.dts), [8 * FRAME_MS, 9 * FRAME_MS, 10 * FRAME_MS]);
  assert.ok(v[0]!.keyframe);
  assert.equal(s.stats.restarts, 1);
});

test('configs: the audio config passes, a rung\'s video config is sent once and again only if it differs', () => {
  const s = ladder();
  const cfg = (bytes: number[]): DemuxOutput => ({ type: 'config', config: { kind: 'video', codec: 'h264', data: new Uint8Array(bytes) } });
  assert.equal(s.push(0, cfg([1, 2])).length, 1);
  assert.equal(s.push(1, cfg([1, 2])).length, 0);
  assert.equal(s.pushAudio({ type: 'config', config: { kind: 'audio', codec: 'aac', data: new Uint8Array([3]) } }).length, 1);
  s.setTarget(3_000_000);
  const out = [...s.push(0, frame(0, 0)), ...s.push(1, frame(1, 0)), ...s.push(0, frame(0, 5))];
  assert.ok(!out.some((o) => o.type === 'config'), 'the same SPS/PPS is not re-sent at a switch');
  assert.equal(s.push(9, frame(9, 1)).length, 0, 'a rung that does not exist is ignored');
});
