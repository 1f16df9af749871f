import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HlsPackager } from '../../../src/server/hls/HlsPackager.js';
import { hasMedia } from '../../../src/server/hls/HlsService.js';
import { renderPlaylist } from '../../../src/server/hls/playlist.js';
import { parseBoxes } from '../../../src/media/mp4/BoxParser.js';
import { encodeSource, ffprobe } from '../../media/mp4/source.js';

// 7 s at 30 fps with a keyframe every 2 s (60 frames), no B-frames, as a low-latency encoder sends.
const src = encodeSource({ seconds: 7, gop: 60, bframes: 0 });

// ffmpeg gives the first picture a longer duration (its fMP4 writer shifts the start), so the
// segment boundaries are read off the source's keyframes rather than assumed.
const keyDts = src.frames.filter((f) => f.kind === 'video' && f.keyframe).map((f) => f.dts);

function packAll(options = {}): HlsPackager {
  const p = new HlsPackager(src.video, src.audio, options);
  for (const f of src.frames) p.push(f, 1_700_000_000_000 + f.dts);
  return p;
}

test('segments follow a 2 s GOP and parts are about 200 ms, independent at keyframes', () => {
  const p = packAll();
  assert.deepEqual(p.segments.map((s) => s.msn), [0, 1, 2]);
  assert.equal(keyDts.length, 4);
  for (const s of p.segments) {
    assert.equal(s.startDts, keyDts[s.msn]);
    assert.equal(s.durationMs, keyDts[s.msn + 1]! - keyDts[s.msn]!);
    assert.ok(s.durationMs >= 2000 && s.durationMs < 2030, `segment ${s.msn} lasts ${s.durationMs} ms`);
    assert.equal(s.parts.length, s.msn === 0 ? 11 : 10);
    s.parts.forEach((part, i) => {
      assert.ok(part.durationMs <= 200.01 && part.durationMs >= 20, `part ${s.msn}.${i} lasts ${part.durationMs} ms`);
      assert.equal(part.independent, i === 0);
      assert.deepEqual(parseBoxes(part.data).map((b) => b.type), ['moof', 'mdat']);
    });
  }
  assert.equal(p.targetDurationS, 2);
  assert.equal(p.current?.msn, 3);
  assert.ok(p.current!.parts.length > 0);
});

test('a short GOP is merged into segments of at least segmentMinMs; the window stays bounded', () => {
  const p = packAll({ segmentMinMs: 3000, windowSegments: 1 });
  // Keyframes at 0, 2, 4, 6 s: with a 3 s minimum the first cut is at 4 s.
  assert.equal(p.segments.length, 1);
  assert.equal(p.segments[0]!.msn, 0);
  assert.equal(p.segments[0]!.durationMs, keyDts[2]! - keyDts[0]!);
  assert.equal(p.targetDurationS, 4);
  const q = packAll({ windowSegments: 2 });
  assert.deepEqual(q.segments.map((s) => s.msn), [1, 2]);
  assert.equal(q.mediaSequence, 1);
  assert.equal(q.segment(0), undefined);
});

test('the playlist carries the LL-HLS tags, parts near the edge and a preload hint', () => {
  const p = packAll();
  const text = renderPlaylist(p, 7);
  const lines = text.trim().split('\n');
  assert.equal(lines[0], '#EXTM3U');
  assert.ok(lines.includes('#EXT-X-VERSION:9'));
  assert.ok(lines.includes('#EXT-X-TARGETDURATION:2'));
  assert.ok(lines.includes('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,HOLD-BACK=6.000'));
  assert.ok(lines.includes('#EXT-X-PART-INF:PART-TARGET=0.200'));
  assert.ok(lines.includes('#EXT-X-MEDIA-SEQUENCE:0'));
  assert.ok(lines.includes('#EXT-X-MAP:URI="init7.mp4"'));
  assert.ok(lines.includes('seg0.m4s') && lines.includes('seg2.m4s'));
  assert.ok(lines.includes('#EXT-X-PART:DURATION=0.20000,URI="part3.0.m4s",INDEPENDENT=YES'));
  assert.ok(lines.includes('#EXT-X-PART:DURATION=0.20000,URI="part2.1.m4s"'));
  assert.equal(lines.at(-1), `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part3.${p.current!.parts.length}.m4s"`);
  const pdt = lines.filter((l) => l.startsWith('#EXT-X-PROGRAM-DATE-TIME:'));
  assert.equal(pdt.length, 4);
  assert.equal(Date.parse(pdt[2]!.slice(25)) - Date.parse(pdt[1]!.slice(25)), 2000);
  assert.deepEqual(lines.filter((x) => x.startsWith('#EXTINF:')), ['#EXTINF:2.02324,', '#EXTINF:2.00000,', '#EXTINF:2.00000,']);
});

test('blocking-reload conditions: parts, whole segments, and a part index past a finished segment', () => {
  const p = packAll();
  const cur = p.current!;
  assert.equal(hasMedia(p, cur.msn, cur.parts.length - 1), true);
  assert.equal(hasMedia(p, cur.msn, cur.parts.length), false);
  assert.equal(hasMedia(p, cur.msn, undefined), false);
  assert.equal(hasMedia(p, cur.msn - 1, undefined), true);
  assert.equal(hasMedia(p, 2, 10), true, 'part 10 of a 10-part segment is part 0 of the next');
  assert.equal(hasMedia(p, cur.msn + 1, 0), false);
});

test('ffprobe reads init + complete segments: h264 640x360 and aac, every video frame', () => {
  const p = packAll();
  const dir = mkdtempSync(join(tmpdir(), 'hls-'));
  try {
    const file = join(dir, 'all.mp4');
    writeFileSync(file, Buffer.concat([p.init, ...p.segments.flatMap((s) => s.parts.map((x) => x.data))]));
    const { streams } = ffprobe(file);
    const v = streams.find((s) => s.codec_type === 'video')!;
    assert.equal(v.codec_name, 'h264');
    assert.equal(v.width, 640);
    assert.equal(Number(v.nb_read_packets), 180);
    assert.equal(streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('audio-only streams are cut by time and every part is independent', () => {
  const p = new HlsPackager(undefined, src.audio);
  for (const f of src.frames) p.push(f, f.dts);
  assert.ok(p.segments.length >= 5);
  for (const s of p.segments) {
    assert.ok(s.durationMs >= 999 && s.durationMs < 1100, `audio segment ${s.durationMs}`);
    assert.ok(s.parts.every((x) => x.independent && x.durationMs <= 200.01));
  }
});

test('hostile timing stays bounded: standing, backwards and jumping timestamps, no keyframes for long', () => {
  const p = new HlsPackager(src.video, src.audio, { windowSegments: 4 });
  const v = src.frames.find((f) => f.kind === 'video' && f.keyframe)!;
  const a = src.frames.find((f) => f.kind === 'audio')!;
  let x = 0x9e3779b9;
  const rand = () => ((x = (x * 1103515245 + 12345) >>> 0) / 0x100000000);
  let dts = 0;
  for (let i = 0; i < 200_000; i++) {
    const r = rand();
    // Mostly forward in 33 ms steps; sometimes standing still, going back, or jumping an hour.
    dts += r < 0.6 ? 33 : r < 0.8 ? 0 : r < 0.95 ? -500 : r < 0.999 ? 5 : 3_600_000;
    const audio = rand() < 0.4;
    const keyframe = !audio && rand() < 0.002;
    p.push({ ...(audio ? a : v), dts, pts: dts, keyframe }, i);
    assert.ok(p.segments.length <= 4);
    assert.ok((p.current?.parts.length ?? 0) <= 100);
  }
  assert.ok(p.segments.length > 0);
  for (const s of p.segments) for (const part of s.parts) assert.deepEqual(parseBoxes(part.data).map((b) => b.type), ['moof', 'mdat']);
});
