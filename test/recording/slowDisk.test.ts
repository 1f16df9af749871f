import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry as PromRegistry } from 'prom-client';
import type { OpenFile } from '../../src/recording/DiskQueue.js';
import { addRecordingMetrics } from '../../src/recording/metrics.js';
import { Recorder } from '../../src/recording/Recorder.js';
import { Registry } from '../../src/server/Registry.js';
import { encodeSource } from '../media/mp4/source.js';
import { probe, readIndex, segmentsOf } from './tools.js';

/** ffmpeg decodes every frame of a file; what it says at level error (a missing reference, a broken slice). */
function decodeErrors(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { timeout: 30_000 }, (err, _out, stderr) => (err ? reject(new Error(`ffmpeg ${file}: ${String(stderr)}`)) : resolve(String(stderr))));
  });
}

test('a disk slower than the stream holds at most queueBytes; frames are dropped up to the next keyframe, counted, and every segment still decodes cleanly', async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-slow-'));
  try {
    const src = encodeSource({ seconds: 6, gop: 30, bframes: 0 });
    // Real files; while `stuck`, segment writes wait: the disk has stopped taking data.
    let stuck = false;
    let release: () => void = () => {};
    let gate = Promise.resolve();
    const openFile: OpenFile = async (path, flags) => {
      const fh = await open(path, flags);
      if (flags !== 'wx') return fh;
      return {
        writev: async (bufs) => {
          await gate;
          return fh.writev(bufs);
        },
        sync: () => fh.sync(),
        close: () => fh.close(),
      };
    };
    const registry = new Registry({ publisherGraceMs: 0 });
    const queueBytes = 200_000;
    const recorder = new Recorder(registry, { settings: () => ({ enabled: true, path: join(root, '{app}/{key}'), segmentSeconds: 5, queueBytes, replicas: 1 }), openFile });
    const prom = new PromRegistry();
    addRecordingMetrics(prom, recorder);
    const stream = registry.app('live').stream('slow');
    stream.publish({ id: 'p', protocol: 'rtmp', remoteAddress: 'test', close() {} });
    const rec = recorder.active.get(stream)!;
    stream.pushConfig(src.video);
    stream.pushConfig(src.audio);
    let maxPending = 0;
    for (const f of src.frames) {
      const stall = f.dts >= 2000 && f.dts < 3500; // ends mid-GOP: the recording must wait for 4000
      if (stall && !stuck) {
        stuck = true;
        gate = new Promise((r) => (release = r));
      }
      if (!stall && stuck) {
        stuck = false;
        release();
      }
      stream.pushFrame(f);
      maxPending = Math.max(maxPending, rec.pendingBytes());
      if (!stuck) await rec.queue.drained(); // a disk that keeps up
    }
    assert.ok(maxPending <= queueBytes, `queued ${maxPending} bytes, budget ${queueBytes}`);
    assert.ok(rec.dropped > 20, `dropped ${rec.dropped} frames during a 2 s stall`);
    assert.match(await prom.metrics(), new RegExp(`^tributary_recording_dropped_total ${rec.dropped}$`, 'm'));
    stream.close('done');
    await rec.finished;
    const segs = segmentsOf(readIndex(rec.dir));
    assert.ok(segs.some((s) => s.dropped > 0), 'the index says which segments have holes');
    let frames = 0;
    let holes = 0;
    for (const s of segs) {
      const file = join(rec.dir, s.file);
      const p = await probe(file);
      assert.deepEqual(p.codecs, { video: 'h264', audio: 'aac' }, s.file);
      assert.ok(p.video.keyFirst, `${s.file} starts on a keyframe`);
      assert.equal(p.video.holeAfterNonKey, 0, `${s.file}: video resumes after a hole on a keyframe (${p.video.holes} holes)`);
      holes += p.video.holes;
      assert.equal(await decodeErrors(file), '', `${s.file} decodes`);
      frames += s.frames;
    }
    assert.ok(holes >= 1, 'the stall left a hole inside a segment');
    assert.equal(frames + rec.dropped, src.frames.length, 'every frame is either recorded or counted as dropped');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a disk that fails (its directory removed) ends that recording with the error reported; the stream goes on', async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-fail-'));
  try {
    const src = encodeSource({ seconds: 3, gop: 30, bframes: 0 });
    const registry = new Registry({ publisherGraceMs: 0 });
    const recorder = new Recorder(registry, { settings: () => ({ enabled: true, path: join(root, '{app}/{key}'), segmentSeconds: 1, queueBytes: 1 << 20, replicas: 1 }) });
    const prom = new PromRegistry();
    addRecordingMetrics(prom, recorder);
    const stream = registry.app('live').stream('gone');
    stream.publish({ id: 'p', protocol: 'rtmp', remoteAddress: 'test', close() {} });
    const rec = recorder.active.get(stream)!;
    stream.pushConfig(src.video);
    stream.pushConfig(src.audio);
    let seen = 0;
    stream.on('frame', () => seen++);
    for (const f of src.frames) {
      if (f.dts >= 1500 && existsSync(rec.dir)) rmSync(rec.dir, { recursive: true });
      stream.pushFrame(f);
      await rec.queue.drained();
    }
    await rec.finished;
    assert.equal(seen, src.frames.length, 'the stream took every frame');
    assert.ok(stream.isLive, 'the publisher was not touched');
    assert.equal(recorder.active.size, 0);
    assert.match(await prom.metrics(), /^tributary_recording_errors_total 1$/m);
    assert.match(recorder.list()[0]!.error ?? '', /ENOENT/);
    stream.close('done');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('many recordings on one stalled disk stay under the total cap together; the accounting returns to 0 once the disk drains', async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-pool-'));
  try {
    const src = encodeSource({ seconds: 2, gop: 30, bframes: 0 });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const openFile: OpenFile = async (path, flags) => {
      const fh = await open(path, flags);
      if (flags !== 'wx') return fh;
      return { writev: async (bufs) => (await gate, fh.writev(bufs)), sync: () => fh.sync(), close: () => fh.close() };
    };
    const registry = new Registry({ publisherGraceMs: 0 });
    const recorder = new Recorder(registry, { settings: () => ({ enabled: true, path: join(root, '{app}/{key}'), segmentSeconds: 1, queueBytes: 200_000, replicas: 1 }), openFile, totalQueueBytes: 300_000 });
    const streams = ['a', 'b', 'c'].map((k) => registry.app('live').stream(k));
    for (const s of streams) {
      s.publish({ id: s.key, protocol: 'rtmp', remoteAddress: 'test', close() {} });
      s.pushConfig(src.video);
      s.pushConfig(src.audio);
    }
    let maxPool = 0;
    for (const f of src.frames) {
      for (const s of streams) s.pushFrame(f);
      maxPool = Math.max(maxPool, recorder.pool.bytes);
    }
    assert.ok(maxPool <= 300_000, `all recordings held ${maxPool} bytes, cap 300000`);
    assert.ok(maxPool > 200_000, `more than one recording's worth was held (${maxPool}): the cap, not one queue, bounded it`);
    const recs = streams.map((s) => recorder.active.get(s)!);
    release();
    for (const s of streams) s.close('done');
    await Promise.all(recs.map((r) => r.finished));
    assert.equal(recorder.pool.bytes, 0);
    assert.ok(recorder.droppedTotal > 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
