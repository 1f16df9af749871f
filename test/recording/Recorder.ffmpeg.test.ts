import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { parseConfig } from '../../src/node/config.js';
import { createNode, type MediaNode } from '../../src/node/createNode.js';
import { createLogger } from '../../src/server/log.js';
import type { Server } from '../../src/server/Server.js';
import type { Stream } from '../../src/server/Stream.js';
import { httpGet, pushRtmp, waitFor } from '../server/http/tools.js';
import { probe, readIndex, segmentsOf } from './tools.js';

// Real sockets, real ffmpeg publishing over RTMP, real ffprobe reading what was written.
const root = mkdtempSync(join(tmpdir(), 'trib-rec-'));
let server: Server;
/** The server with its processing and recording parts (src/node/). */
let node: MediaNode;
let rtmp: string;
let http: string;

before(async () => {
  node = createNode(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { enabled: false }, publisherGraceMs: 8000,
    apps: { live: { record: { path: join(root, '{app}/{key}/{date}'), segmentSeconds: 2 } } },
  }), { logger: createLogger('silent') });
  server = node.server;
  const a = await server.start();
  rtmp = `rtmp://127.0.0.1:${a.rtmpPort}/live`;
  http = `http://127.0.0.1:${a.httpPort}`;
});

after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** What the server took, by video dts: the published duration is last - first + one frame. */
function watchVideo(key: string): { first: number; last: number; count: number } {
  const seen = { first: NaN, last: NaN, count: 0 };
  const on = (s: Stream) => {
    if (s.key !== key) return;
    s.on('frame', (f) => {
      if (f.kind !== 'video') return;
      if (seen.count++ === 0) seen.first = f.dts;
      seen.last = f.dts;
    });
  };
  server.registry.on('stream', on);
  return seen;
}

const exited = (p: ChildProcess) => new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
const FRAME_MS = 1000 / 30;

test('a published stream is recorded as FLV segments that each play with video and audio, and their durations add up to what was published', async () => {
  const seen = watchVideo('cam');
  assert.equal(await exited(pushRtmp(`${rtmp}/cam`, 6)), 0);
  const stream = server.registry.find('live', 'cam');
  assert.ok(stream, 'the stream waits for its publisher (grace)');
  const listed = await httpGet(`${http}/api/recordings`);
  assert.equal(listed.status, 200);
  const rec = (JSON.parse(listed.body) as { recordings: { key: string; dir: string; active: boolean; segmentCount: number; durationMs: number }[] }).recordings.find((r) => r.key === 'cam');
  assert.ok(rec, listed.body);
  assert.equal(rec.active, true, 'still open during the grace');
  assert.ok(!(JSON.parse(listed.body) as { stored: { dir: string }[] }).stored.some((r) => r.dir === rec.dir), 'listed once, not again as found on disk');
  // The third closes when the server sees the publisher leave, which may be just after ffmpeg's exit.
  assert.ok(rec.segmentCount >= 2, `segments closed so far: ${rec.segmentCount}`);
  stream.close('test done'); // the grace would end it too; this finishes the recording now
  await waitFor('recording finished', () => (node.recorder.active.size === 0 ? true : undefined));

  const index = readIndex(rec.dir);
  assert.equal(index[0]!.type, 'start');
  assert.equal(index.at(-1)!.type, 'end', 'a clean finish writes an end line');
  const segs = segmentsOf(index);
  assert.ok(segs.length >= 3 && segs.length <= 4, `6 s in 2 s segments: ${segs.length}`);
  const published = seen.last - seen.first + FRAME_MS;
  const indexed = segs.reduce((a, s) => a + s.durationMs, 0);
  assert.ok(Math.abs(indexed - published) <= 2 * FRAME_MS, `index says ${indexed} ms, published ${published} ms`);
  let probed = 0;
  let frames = 0;
  for (const s of segs) {
    const p = await probe(join(rec.dir, s.file));
    assert.deepEqual(p.codecs, { video: 'h264', audio: 'aac' }, s.file);
    assert.ok(p.video.keyFirst, `${s.file} starts on a keyframe`);
    assert.ok(p.audio.count > 0, `${s.file} has audio`);
    assert.ok(Math.abs(p.video.firstMs - s.firstDts) <= 1, `${s.file}: ffprobe starts at ${p.video.firstMs}, index ${s.firstDts}`);
    probed += p.video.spanMs;
    frames += p.video.count;
  }
  assert.equal(frames, seen.count, 'every video frame the server took is in a segment');
  // Each segment's span is up to its last frame plus one: the sum is the published duration
  // give or take a frame's rounding per segment.
  assert.ok(Math.abs(probed - published) <= 2 * FRAME_MS, `ffprobe reads ${probed} ms, published ${published} ms`);
  const metrics = await httpGet(`${http}/metrics`);
  assert.match(metrics.body, /^tributary_recording_dropped_total 0$/m);
});

test('a publisher that reconnects within the grace goes on in the same recording: one index, a gap line, timestamps still rising', async () => {
  assert.equal(await exited(pushRtmp(`${rtmp}/again`, 3)), 0);
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(await exited(pushRtmp(`${rtmp}/again`, 3)), 0);
  const stream = server.registry.find('live', 'again');
  assert.ok(stream);
  const rec = node.recorder.active.get(stream);
  assert.ok(rec, 'one recording for the stream across both publishers');
  stream.close('test done');
  await rec.finished;
  const index = readIndex(rec.dir);
  const gaps = index.filter((e) => e.type === 'gap');
  assert.equal(gaps.length, 1, JSON.stringify(index));
  const gap = gaps[0] as { gapMs: number; afterDts: number; resumeDts: number };
  assert.ok(gap.gapMs >= 700 && gap.gapMs < 8000, `gap ${gap.gapMs} ms`);
  assert.ok(gap.resumeDts > gap.afterDts);
  const segs = segmentsOf(index);
  assert.ok(segs.some((s) => s.firstDts >= gap.resumeDts) && segs.some((s) => s.lastDts <= gap.afterDts), 'segments on both sides of the gap');
  let prevEnd = -Infinity;
  for (const s of segs) {
    const p = await probe(join(rec.dir, s.file));
    assert.deepEqual(p.codecs, { video: 'h264', audio: 'aac' }, s.file);
    assert.ok(p.video.keyFirst, `${s.file} starts on a keyframe`);
    assert.ok(p.video.firstMs >= prevEnd, `${s.file} starts at ${p.video.firstMs} ms, before the previous one ended (${prevEnd} ms)`);
    prevEnd = p.video.lastMs;
  }
});
