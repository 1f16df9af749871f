import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MediaFrame } from '../../../src/media/frame.js';
import { Fmp4Muxer } from '../../../src/media/mp4/Fmp4Muxer.js';
import { demuxFmp4 } from '../../../src/media/mp4/Fmp4Demuxer.js';
import { parseBoxes } from '../../../src/media/mp4/BoxParser.js';
import { codecString, trackFromConfig } from '../../../src/media/mp4/track.js';
import { encodeSource, ffprobe } from './source.js';
import { concat } from '../../fuzz.js';

const src = encodeSource({ seconds: 3, gop: 30, bframes: 2 });

/** Muxes the source cutting a fragment every `every` frames, as a packager would. */
function mux(frames: readonly MediaFrame[], every: number): { init: Uint8Array; fragments: Uint8Array[] } {
  const muxer = new Fmp4Muxer([trackFromConfig(1, src.video)!, trackFromConfig(2, src.audio)!]);
  const fragments: Uint8Array[] = [];
  frames.forEach((f, i) => {
    muxer.push(f);
    if (i % every === every - 1) {
      const frag = muxer.flush();
      if (frag.length) fragments.push(frag);
    }
  });
  fragments.push(muxer.flushAll());
  return { init: muxer.initSegment(), fragments };
}


test('ffprobe reads the muxed init + fragments: codecs, resolution and frame counts', () => {
  const { init, fragments } = mux(src.frames, 7);
  const dir = mkdtempSync(join(tmpdir(), 'fmp4-'));
  try {
    const file = join(dir, 'out.mp4');
    writeFileSync(file, concat([init, ...fragments]));
    const { streams } = ffprobe(file);
    const v = streams.find((s) => s.codec_type === 'video')!;
    const a = streams.find((s) => s.codec_type === 'audio')!;
    const videoCount = src.frames.filter((f) => f.kind === 'video').length;
    const audioCount = src.frames.filter((f) => f.kind === 'audio').length;
    assert.equal(v.codec_name, 'h264');
    assert.equal(v.width, 640);
    assert.equal(v.height, 360);
    assert.equal(Number(v.nb_read_packets), videoCount);
    assert.equal(videoCount, 90);
    assert.equal(a.codec_name, 'aac');
    assert.equal(a.sample_rate, '44100');
    assert.equal(Number(a.nb_read_packets), audioCount);
    // ffprobe decodes frames too: every picture decodes (B-frames included, so the cto are right).
    const decoded = ffprobe(file, ['-count_frames', '-select_streams', 'v']).streams[0]!;
    assert.equal(Number(decoded.nb_read_frames), videoCount);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the demuxer reads back every frame the muxer wrote: times, flags and bytes', () => {
  const { init, fragments } = mux(src.frames, 5);
  const { tracks, outputs } = demuxFmp4(concat([init, ...fragments]));
  assert.deepEqual(tracks.map((t) => [t.id, t.kind, t.timescale]), [[1, 'video', 90000], [2, 'audio', 44100]]);
  assert.deepEqual(tracks[0]!.config.data, src.video.data);
  assert.deepEqual(tracks[1]!.config.data, src.audio.data);
  const back = outputs.flatMap((o) => (o.type === 'frame' ? [o.frame] : []));
  for (const kind of ['video', 'audio'] as const) {
    const want = src.frames.filter((f) => f.kind === kind);
    const got = back.filter((f) => f.kind === kind);
    assert.equal(got.length, want.length);
    got.forEach((g, i) => {
      const w = want[i]!;
      assert.ok(Math.abs(g.dts - w.dts) < 0.05, `${kind} ${i} dts ${g.dts} vs ${w.dts}`);
      assert.ok(Math.abs(g.pts - w.pts) < 0.05, `${kind} ${i} pts ${g.pts} vs ${w.pts}`);
      assert.equal(g.keyframe, w.keyframe);
      assert.deepEqual(g.data, w.data);
    });
  }
});

test('each fragment is one moof with a traf per track and one mdat; sequence numbers count up', () => {
  const { fragments } = mux(src.frames, 10);
  fragments.forEach((frag, i) => {
    const boxes = parseBoxes(frag);
    assert.deepEqual(boxes.map((b) => b.type), ['moof', 'mdat']);
    const moof = boxes[0]!;
    assert.equal((frag[moof.payload + 12]! << 24) | (frag[moof.payload + 13]! << 16) | (frag[moof.payload + 14]! << 8) | frag[moof.payload + 15]!, i + 1);
    assert.ok(moof.children!.filter((b) => b.type === 'traf').length >= 1);
  });
});

test('codec strings come from the config records', () => {
  assert.match(codecString(trackFromConfig(1, src.video)!), /^avc1\.[0-9a-f]{6}$/);
  assert.equal(codecString(trackFromConfig(2, src.audio)!), 'mp4a.40.2');
  assert.equal(trackFromConfig(3, { kind: 'audio', codec: 'opus', data: new Uint8Array(19) }), undefined);
});

test('timestamps that stand still get a minimal positive duration instead of zero', () => {
  const muxer = new Fmp4Muxer([trackFromConfig(1, src.video)!]);
  const v = src.frames.filter((f) => f.kind === 'video').slice(0, 3).map((f) => ({ ...f, dts: 100, pts: 100 }));
  for (const f of v) muxer.push(f);
  const { outputs } = demuxFmp4(concat([muxer.initSegment(), muxer.flushAll()]));
  const dts = outputs.flatMap((o) => (o.type === 'frame' ? [o.frame.dts] : []));
  assert.equal(dts.length, 3);
  assert.ok(dts[0]! < dts[1]! && dts[1]! < dts[2]!);
});

test('a cut at a known time takes every frame before it, audio included, and ends video exactly there', () => {
  const muxer = new Fmp4Muxer([trackFromConfig(1, src.video)!, trackFromConfig(2, src.audio)!]);
  const key = src.frames.filter((f) => f.kind === 'video' && f.keyframe)[1]!;
  const before = src.frames.filter((f) => f.dts < key.dts);
  for (const f of before) muxer.push(f);
  const frag = muxer.flush(key.dts);
  const { outputs } = demuxFmp4(concat([muxer.initSegment(), frag]));
  const frames = outputs.flatMap((o) => (o.type === 'frame' ? [o.frame] : []));
  assert.equal(frames.length, before.length);
  // Read the last video sample's duration back from the trun: it must reach the keyframe.
  const video = frames.filter((f) => f.kind === 'video');
  muxer.push(key);
  const next = demuxFmp4(concat([muxer.initSegment(), muxer.flushAll()])).outputs.flatMap((o) => (o.type === 'frame' ? [o.frame] : []));
  assert.ok(Math.abs(next[0]!.dts - key.dts) < 0.02);
  assert.ok(video.at(-1)!.dts < key.dts);
});
