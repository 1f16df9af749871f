import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MediaFrame } from '../../../src/media/frame.js';
import { TsDemuxer } from '../../../src/media/ts/TsDemuxer.js';
import { TsMuxer } from '../../../src/media/ts/TsMuxer.js';
import { AUDIO_CONFIG, VIDEO_CONFIG } from '../../../src/bench/fanout/stream.js';
import { concat, mutate, xorshift } from '../../fuzz.js';

/** PAT, PMT, a keyframe with SPS/PPS, a P frame and two AAC frames: about 6 packets. */
function seed(): Uint8Array {
  const m = new TsMuxer();
  m.setConfig(VIDEO_CONFIG);
  m.setConfig(AUDIO_CONFIG);
  const f = (kind: 'video' | 'audio', dts: number, data: number[], keyframe = false): MediaFrame => ({ kind, codec: kind === 'video' ? 'h264' : 'aac', dts, pts: dts + (kind === 'video' ? 40 : 0), keyframe, reference: true, data: new Uint8Array(data) });
  return concat([
    m.psi(),
    m.muxFrame(f('video', 0, [0, 0, 0, 6, 0x65, 0x88, 1, 2, 3, 4], true)),
    m.muxFrame(f('audio', 10, [0x21, 0x10, 5, 6, 7, 8, 9])),
    m.muxFrame(f('video', 40, [0, 0, 0, 5, 0x41, 0x9a, 1, 2, 3])),
    m.muxFrame(f('audio', 31, [0x21, 0x10, 1, 2])),
  ]);
}

test('TS demuxer: 1,000,000 mutated streams never throw and hold no more than their limits', () => {
  const base = seed();
  const check = new TsDemuxer();
  const outs = [...check.push(base), ...check.flush()];
  assert.equal(outs.filter((o) => o.type === 'frame').length, 4, 'the seed itself demuxes');
  const rnd = xorshift(0x75f1);
  const buf = new Uint8Array(base.length * 2 + 600);
  const N = 1_000_000;
  let frames = 0;
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const len = mutate(base, buf, rnd);
    const d = new TsDemuxer({ maxVideoPes: 64 * 1024, maxAudioPes: 8 * 1024 });
    const cut = (rnd() * len) | 0; // two pushes, cut anywhere
    frames += d.push(buf.subarray(0, cut)).length + d.push(buf.subarray(cut, len)).length + d.flush().length;
  }
  const ms = Math.round(performance.now() - started);
  console.log(`ts fuzz: ${N} mutated streams in ${ms} ms (${frames} outputs)`);
});
