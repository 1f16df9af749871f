import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodecConfig, MediaFrame } from '../../../src/media/frame.js';
import { FlvDemuxer } from '../../../src/media/flv/FlvDemuxer.js';
import { Fmp4Muxer } from '../../../src/media/mp4/Fmp4Muxer.js';
import { trackFromConfig } from '../../../src/media/mp4/track.js';
import { ffprobe, requireBinary } from './source.js';

test('frames demuxed from an ffmpeg-made FLV mux into fMP4 that ffprobe reads back whole', () => {
  requireBinary('ffmpeg');
  const r = spawnSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=3',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-bf', '2', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-f', 'flv', 'pipe:1',
  ], { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr?.toString());
  let video: CodecConfig | undefined;
  let audio: CodecConfig | undefined;
  const frames: MediaFrame[] = [];
  const bytes = new Uint8Array(r.stdout);
  const demuxer = new FlvDemuxer();
  // Fed in uneven chunks, as a socket delivers it.
  for (let pos = 0; pos < bytes.length; pos += 1361) {
    for (const out of demuxer.push(bytes.subarray(pos, pos + 1361))) {
      if (out.type === 'config') out.config.kind === 'video' ? (video = out.config) : (audio = out.config);
      else if (out.type === 'frame' && out.frame.kind !== 'data') frames.push(out.frame);
    }
  }
  assert.ok(video && audio);
  // With the size stripped from the config, the track reads it from the SPS in the record.
  const v = trackFromConfig(1, { ...video, width: undefined, height: undefined })!;
  assert.deepEqual([v.width, v.height], [320, 240]);
  const muxer = new Fmp4Muxer([v, trackFromConfig(2, audio)!]);
  const out: Uint8Array[] = [muxer.initSegment()];
  for (const f of frames) {
    if (f.kind === 'video' && f.keyframe) out.push(muxer.flush(f.dts));
    muxer.push(f);
  }
  out.push(muxer.flushAll());
  const dir = mkdtempSync(join(tmpdir(), 'flv2mp4-'));
  try {
    const file = join(dir, 'out.mp4');
    writeFileSync(file, Buffer.concat(out));
    const { streams } = ffprobe(file, ['-count_frames']);
    const vs = streams.find((s) => s.codec_type === 'video')!;
    const as = streams.find((s) => s.codec_type === 'audio')!;
    assert.equal(vs.codec_name, 'h264');
    assert.deepEqual([vs.width, vs.height], [320, 240]);
    assert.equal(Number(vs.nb_read_packets), 75);
    assert.equal(Number(vs.nb_read_frames), 75);
    assert.equal(as.codec_name, 'aac');
    assert.equal(as.sample_rate, '48000');
    assert.equal(as.channels, 2);
    assert.equal(Number(as.nb_read_packets), frames.filter((f) => f.kind === 'audio').length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
