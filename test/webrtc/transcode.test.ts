import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { aacConfigFromAsc, buildAudioSpecificConfig, parseAdtsHeader } from '../../src/media/codec/aac.js';
import type { MediaFrame } from '../../src/media/frame.js';
import { AacToOpus } from '../../src/webrtc/transcode/AacToOpus.js';
import { OggOpusWriter, OggReader } from '../../src/webrtc/transcode/ogg.js';
import { OpusToAac } from '../../src/webrtc/transcode/OpusToAac.js';
import { requireProgram, waitFor } from '../server/http/tools.js';

test('Ogg pages written for ffmpeg read back as the same packets; broken pages are skipped, not trusted', () => {
  const w = new OggOpusWriter();
  const head = new Uint8Array(19).fill(1);
  const packets = [new Uint8Array(3).fill(9), new Uint8Array(700).fill(7), new Uint8Array(0)];
  const bytes = Buffer.concat([...w.headers(head), ...packets.map((p, i) => w.packet(p, BigInt(i * 960)))]);
  const r = new OggReader();
  const got = [];
  for (let i = 0; i < bytes.length; i += 50) got.push(...r.push(bytes.subarray(i, i + 50)));
  assert.equal(got.length, 5);
  assert.deepEqual(got[0]!.data, head);
  assert.deepEqual(got[3]!.data, packets[1]);
  const bad = Buffer.from(bytes);
  bad[40] ^= 0xff; // inside the first page: its CRC no longer matches
  assert.equal(new OggReader().push(bad).length, 4);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 4000 }), (junk) => void new OggReader().push(junk)));
});

/** AAC-LC at 44.1 kHz from ffmpeg's sine source, as raw frames with their pts. */
function aacFrames(seconds: number): { asc: Uint8Array; frames: { data: Uint8Array; pts: number }[] } {
  requireProgram('ffmpeg');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${seconds}`, '-c:a', 'aac', '-f', 'adts', 'pipe:1'], { maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, String(r.stderr));
  const buf = new Uint8Array(r.stdout);
  const frames = [];
  let pos = 0;
  let info;
  while (pos + 7 <= buf.length) {
    const h = parseAdtsHeader(buf, pos);
    info = h;
    frames.push({ data: buf.slice(pos + h.headerLength, pos + h.frameLength), pts: (frames.length * 1024 * 1000) / 44100 });
    pos += h.frameLength;
  }
  return { asc: buildAudioSpecificConfig(info!), frames };
}

test('AAC goes to Opus and back through two real ffmpeg processes, keeping the timeline across a loss', async () => {
  const { asc, frames } = aacFrames(3);
  const opus: { data: Uint8Array; pts: number }[] = [];
  const a2o = new AacToOpus(aacConfigFromAsc(asc), (data, pts) => opus.push({ data, pts }), () => undefined);
  try {
    for (const f of frames) a2o.push(f.data, f.pts);
    await waitFor('Opus packets from ffmpeg', () => (opus.length >= 140 ? true : undefined), 10_000);
  } finally {
    a2o.close();
  }
  for (let i = 1; i < opus.length; i++) assert.ok(Math.abs(opus[i]!.pts - opus[i - 1]!.pts - 20) < 0.01, `Opus packet ${i} is 20 ms after the one before`);
  // 10 packets (200 ms) lost between 1 s and 1.2 s: concealment keeps the AAC timeline whole.
  const kept = opus.filter((p) => p.pts < 1000 || p.pts >= 1200);
  const aac: MediaFrame[] = [];
  let config;
  const o2a = new OpusToAac((c) => (config = c), (f) => aac.push(f), () => undefined);
  try {
    for (const p of kept) o2a.push(p.data, p.pts);
    const want = Math.floor(((opus.length - 1) * 960) / 1024) - 2;
    await waitFor(`${want} AAC frames`, () => (aac.length >= want ? true : undefined), 10_000);
  } finally {
    o2a.close();
  }
  assert.equal(config!.codec, 'aac');
  assert.equal(config!.sampleRate, 48000);
  for (let i = 1; i < aac.length; i++) assert.ok(Math.abs(aac[i]!.pts - aac[i - 1]!.pts - 1024 / 48) < 0.01);
  const last = aac[aac.length - 1]!.pts;
  const lastOpus = opus[opus.length - 1]!.pts;
  // ffmpeg holds the last few frames (encoder lookahead) until more input comes; without the
  // concealment the timeline would end 200 ms earlier still.
  assert.ok(Math.abs(last - lastOpus) < 120, `the AAC timeline ends at ${last} ms, the Opus one at ${lastOpus} ms`);
});
