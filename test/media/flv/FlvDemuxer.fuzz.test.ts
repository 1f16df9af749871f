import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaParseError, type MediaFrame } from '../../../src/media/frame.js';
import { FlvDemuxer } from '../../../src/media/flv/FlvDemuxer.js';
import { configTag, flvHeader, frameTag, metadataTag } from '../../../src/media/flv/FlvMuxer.js';
import { AUDIO_CONFIG, VIDEO_CONFIG } from '../../../src/bench/fanout/stream.js';
import { concat, mutate, xorshift } from '../../fuzz.js';

function seed(): Uint8Array {
  const f = (kind: 'video' | 'audio', dts: number, data: number[], keyframe = false): MediaFrame => ({ kind, codec: kind === 'video' ? 'h264' : 'aac', dts, pts: dts + (kind === 'video' ? 40 : 0), keyframe, reference: true, data: new Uint8Array(data) });
  return concat([
    flvHeader(true, true),
    metadataTag({ width: 320, height: 240, framerate: 25, encoder: 'fuzz' }),
    configTag(VIDEO_CONFIG),
    configTag(AUDIO_CONFIG),
    frameTag(f('video', 0, [0, 0, 0, 4, 0x65, 0x88, 1, 2], true)),
    frameTag(f('audio', 10, [0x21, 0x10, 5, 6])),
    frameTag(f('video', 40, [0, 0, 0, 3, 0x41, 0x9a, 1])),
  ]);
}

test('FLV demuxer: 1,000,000 mutated streams yield outputs or MediaParseError, nothing else', () => {
  const base = seed();
  const outs = new FlvDemuxer().push(base);
  assert.equal(outs.filter((o) => o.type === 'frame').length, 3, 'the seed itself demuxes');
  const rnd = xorshift(0xf1f0);
  const buf = new Uint8Array(base.length * 2 + 600);
  const N = 1_000_000;
  let parsed = 0;
  let refused = 0;
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const started = performance.now();
  try {
    for (let i = 0; i < N; i++) {
      const len = mutate(base, buf, rnd);
      const d = new FlvDemuxer({ maxTagSize: 64 * 1024 });
      const cut = (rnd() * len) | 0;
      try {
        parsed += d.push(buf.slice(0, cut)).length + d.push(buf.slice(cut, len)).length;
      } catch (e) {
        if (!(e instanceof MediaParseError)) throw e;
        refused++;
      }
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  console.log(`flv fuzz: ${N} mutated streams in ${Math.round(performance.now() - started)} ms (${parsed} outputs, ${refused} refused)`);
  assert.ok(refused > 0 && parsed > 0);
});
