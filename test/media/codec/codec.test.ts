import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MediaParseError } from '../../../src/media/frame.js';
import { annexBToAvcc, avccToAnnexB, buildAvcConfig, h264ConfigFromRecord, h264NalType, splitAnnexB } from '../../../src/media/codec/h264.js';
import { parseH264Sps } from '../../../src/media/codec/h264Sps.js';
import { aacConfigFromAsc, buildAdtsHeader, parseAdtsHeader, parseAudioSpecificConfig } from '../../../src/media/codec/aac.js';
import { hevcConfigFromRecord } from '../../../src/media/codec/hevc.js';
import { av1ConfigFromRecord } from '../../../src/media/codec/av1.js';
import { buildOpusHead, opusConfigFromHead } from '../../../src/media/codec/opus.js';
import { VIDEO_CONFIG } from '../../../src/bench/fanout/stream.js';
import { mutate, xorshift } from '../../fuzz.js';
import { requireBinary } from '../mp4/source.js';

/** SPS and PPS of an ffmpeg/x264 Annex B stream of the given size and profile. */
function x264ParamSets(size: string, profile: string): Uint8Array[] {
  requireBinary('ffmpeg');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30:duration=0.1`, '-c:v', 'libx264', '-profile:v', profile, '-pix_fmt', 'yuv420p', '-f', 'h264', 'pipe:1'], { maxBuffer: 16 << 20 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const nals = splitAnnexB(new Uint8Array(r.stdout));
  return [nals.find((n) => h264NalType(n) === 7)!, nals.find((n) => h264NalType(n) === 8)!];
}

test('SPS of real x264 streams: sizes with cropping (1080 lines coded as 1088), profiles, level; record round trip', () => {
  for (const [size, profile, name] of [['1920x1080', 'high', 'High'], ['640x360', 'main', 'Main'], ['320x240', 'baseline', 'Constrained Baseline']] as const) {
    const [sps, pps] = x264ParamSets(size, profile);
    const s = parseH264Sps(sps!);
    assert.equal(`${s.width}x${s.height}`, size);
    const c = h264ConfigFromRecord(buildAvcConfig([sps!], [pps!]));
    assert.equal(`${c.width}x${c.height}`, size);
    assert.equal(c.profile, name);
    assert.match(c.codecString!, /^avc1\.[0-9a-f]{6}$/);
  }
});

test('Annex B <-> AVCC conversions keep every NAL unit', () => {
  const nals = [new Uint8Array([0x67, 1, 2, 3]), new Uint8Array([0x68, 4]), new Uint8Array([0x65, 0, 0, 3, 1, 9])];
  const avcc = new Uint8Array(nals.reduce((n, x) => n + 4 + x.length, 0));
  let p = 0;
  for (const n of nals) {
    new DataView(avcc.buffer).setUint32(p, n.length);
    avcc.set(n, p + 4);
    p += 4 + n.length;
  }
  assert.deepEqual(annexBToAvcc(avccToAnnexB(avcc)), avcc);
});

test('AAC: AudioSpecificConfig and ADTS headers', () => {
  const lc = parseAudioSpecificConfig(new Uint8Array([0x12, 0x10]));
  assert.deepEqual([lc.objectType, lc.sampleRate, lc.channelConfig], [2, 44100, 2]);
  const c = aacConfigFromAsc(new Uint8Array([0x11, 0x90]));
  assert.deepEqual([c.sampleRate, c.channels, c.codecString], [48000, 2, 'mp4a.40.2']);
  const adts = buildAdtsHeader(lc, 100);
  const h = parseAdtsHeader(adts);
  assert.equal(h.frameLength, 107);
  assert.throws(() => parseAudioSpecificConfig(new Uint8Array([0x12])), MediaParseError);
  assert.throws(() => parseAdtsHeader(new Uint8Array([0xff, 0x00, 0, 0, 0, 0, 0])), MediaParseError);
});

test('codec config parsers: 1,000,000 mutated records give a config or MediaParseError, nothing else', () => {
  const seeds: Array<[string, Uint8Array, (b: Uint8Array) => unknown]> = [
    ['avc', VIDEO_CONFIG.data, h264ConfigFromRecord],
    ['sps', VIDEO_CONFIG.data.subarray(8, 8 + VIDEO_CONFIG.data[7]!), parseH264Sps],
    ['asc', new Uint8Array([0x2b, 0x92, 0x08, 0x00]), parseAudioSpecificConfig],
    ['adts', buildAdtsHeader(parseAudioSpecificConfig(new Uint8Array([0x12, 0x10])), 50), parseAdtsHeader],
    ['opus', buildOpusHead(2), opusConfigFromHead],
    ['hevc', new Uint8Array([1, 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0]), hevcConfigFromRecord],
    ['av1', new Uint8Array([0x81, 0x08, 0x0c, 0x00]), av1ConfigFromRecord],
  ];
  const rnd = xorshift(0xc0dec);
  const buf = new Uint8Array(2048);
  const N = 1_000_000;
  let ok = 0;
  let refused = 0;
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const started = performance.now();
  try {
    for (let i = 0; i < N; i++) {
      const [, seed, parse] = seeds[i % seeds.length]!;
      const len = mutate(seed, buf, rnd);
      try {
        parse(buf.slice(0, len));
        ok++;
      } catch (e) {
        if (!(e instanceof MediaParseError)) throw new Error(`${seeds[i % seeds.length]![0]}: ${String(e)}`);
        refused++;
      }
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
  console.log(`codec fuzz: ${N} mutated records in ${Math.round(performance.now() - started)} ms (${ok} parsed, ${refused} refused)`);
  assert.ok(ok > 0 && refused > 0);
});
