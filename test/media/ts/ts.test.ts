import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodecConfig, DemuxOutput, MediaFrame } from '../../../src/media/frame.js';
import { FlvDemuxer } from '../../../src/media/flv/FlvDemuxer.js';
import { TsDemuxer } from '../../../src/media/ts/TsDemuxer.js';
import { TsMuxer } from '../../../src/media/ts/TsMuxer.js';
import { concat } from '../../fuzz.js';
import { ffprobe, requireBinary } from '../mp4/source.js';

/** 3 s of 320x240 H.264 (25 fps, GOP 25, B-frames) + 48 kHz AAC, from Debian's ffmpeg. */
function encode(format: 'mpegts' | 'flv'): Uint8Array {
  requireBinary('ffmpeg');
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=3',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-bf', '2', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-f', format, 'pipe:1',
  ], { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr?.toString());
  return new Uint8Array(r.stdout);
}

interface Demuxed {
  video?: CodecConfig;
  audio?: CodecConfig;
  frames: MediaFrame[];
}

function collect(outs: DemuxOutput[], into: Demuxed): void {
  for (const o of outs) {
    if (o.type === 'config') o.config.kind === 'video' ? (into.video = o.config) : (into.audio = o.config);
    else if (o.type === 'frame' && o.frame.kind !== 'data') into.frames.push(o.frame);
  }
}

function demuxTs(bytes: Uint8Array, chunk: number): Demuxed & { demuxer: TsDemuxer } {
  const demuxer = new TsDemuxer();
  const d: Demuxed = { frames: [] };
  for (let pos = 0; pos < bytes.length; pos += chunk) collect(demuxer.push(bytes.subarray(pos, pos + chunk)), d);
  collect(demuxer.flush(), d);
  return { ...d, demuxer };
}

function withTemp<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-ts-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function probeCounts(file: string): { video: Record<string, unknown>; audio: Record<string, unknown> } {
  const p = ffprobe(file);
  const video = p.streams.find((s) => s['codec_type'] === 'video')!;
  const audio = p.streams.find((s) => s['codec_type'] === 'audio')!;
  assert.ok(video && audio, 'both tracks');
  return { video, audio };
}

test('an ffmpeg MPEG-TS demuxes into the frames ffprobe counts, with SPS size, AAC config, keyframes and B-frame times', () => {
  const bytes = encode('mpegts');
  const d = demuxTs(bytes, 1000); // chunks that cut packets anywhere
  withTemp((dir) => {
    const file = join(dir, 'in.ts');
    writeFileSync(file, bytes);
    const { video, audio } = probeCounts(file);
    const v = d.frames.filter((f) => f.kind === 'video');
    const a = d.frames.filter((f) => f.kind === 'audio');
    assert.equal(v.length, Number(video['nb_read_packets']));
    assert.equal(a.length, Number(audio['nb_read_packets']));
  });
  assert.deepEqual([d.video?.codec, d.video?.width, d.video?.height], ['h264', 320, 240]);
  assert.deepEqual([d.audio?.codec, d.audio?.sampleRate, d.audio?.channels], ['aac', 48000, 2]);
  const v = d.frames.filter((f) => f.kind === 'video');
  assert.equal(v.filter((f) => f.keyframe).length, 3);
  assert.ok(v[0]!.keyframe);
  assert.ok(v.some((f) => f.pts > f.dts), 'B-frames: some pts ahead of dts');
  for (let i = 1; i < v.length; i++) assert.ok(v[i]!.dts > v[i - 1]!.dts, 'video dts rises');
  assert.ok(Math.abs(v[1]!.dts - v[0]!.dts - 40) < 1, '25 fps in ms');
  assert.deepEqual(d.demuxer.stats.ccErrors + d.demuxer.stats.droppedPes + d.demuxer.stats.badPsi + d.demuxer.esDropped, 0);
});

test('frames muxed to TS read back in ffprobe and in our demuxer: same codecs, size, frames and times', () => {
  const src = demuxTs(encode('mpegts'), 188 * 7);
  const muxer = new TsMuxer();
  muxer.setConfig(src.video!);
  muxer.setConfig(src.audio!);
  const out = concat([muxer.psi(), ...src.frames.map((f) => muxer.muxFrame(f))]);
  assert.equal(out.length % 188, 0, 'whole packets');
  withTemp((dir) => {
    const file = join(dir, 'out.ts');
    writeFileSync(file, out);
    const { video, audio } = probeCounts(file);
    assert.deepEqual([video['codec_name'], video['width'], video['height']], ['h264', 320, 240]);
    assert.equal(audio['codec_name'], 'aac');
    assert.equal(Number(video['nb_read_packets']), src.frames.filter((f) => f.kind === 'video').length);
    assert.equal(Number(audio['nb_read_packets']), src.frames.filter((f) => f.kind === 'audio').length);
  });
  const back = demuxTs(out, 4096);
  assert.equal(back.frames.length, src.frames.length);
  const key = (f: MediaFrame) => `${f.kind} ${Math.round(f.dts)} ${Math.round(f.pts)} ${f.keyframe}`;
  assert.deepEqual(back.frames.map(key).sort(), src.frames.map(key).sort());
});

test('FLV from ffmpeg -> our FLV demuxer -> TS muxer: ffprobe reads every frame', () => {
  const flv = encode('flv');
  const d: Demuxed = { frames: [] };
  collect(new FlvDemuxer().push(flv), d);
  const muxer = new TsMuxer();
  muxer.setConfig(d.video!);
  muxer.setConfig(d.audio!);
  const out = concat([muxer.psi(), ...d.frames.map((f) => muxer.muxFrame(f))]);
  withTemp((dir) => {
    const file = join(dir, 'flv.ts');
    writeFileSync(file, out);
    const { video, audio } = probeCounts(file);
    assert.deepEqual([video['codec_name'], video['width'], video['height']], ['h264', 320, 240]);
    assert.equal(Number(video['nb_read_packets']), d.frames.filter((f) => f.kind === 'video').length);
    assert.equal(Number(audio['nb_read_packets']), d.frames.filter((f) => f.kind === 'audio').length);
  });
});

test('broken TS: garbage before sync, lost packets and a garbage payload are dropped and counted, later frames survive', () => {
  const bytes = encode('mpegts');
  const clean = demuxTs(bytes, 188).frames.length;
  const packets = bytes.length / 188;
  const parts: Uint8Array[] = [new Uint8Array(77).fill(0x47)];
  for (let i = 0; i < packets; i++) {
    if (i === 700 || i === 1300) continue; // lost packets: continuity gaps
    const p = bytes.slice(i * 188, (i + 1) * 188);
    if (i === 1000) p.fill(0xff, 4); // a garbage payload
    parts.push(p);
  }
  const d = demuxTs(concat(parts), 333);
  assert.ok(d.demuxer.stats.ccErrors > 0 || d.demuxer.stats.droppedPes > 0);
  assert.ok(d.demuxer.stats.resyncs > 0, 'the garbage in front costs a resync');
  assert.ok(d.frames.length > clean * 0.7 && d.frames.length < clean, `${d.frames.length} of ${clean} frames survive`);
});
