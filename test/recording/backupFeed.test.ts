/**
 * Main/backup in a cluster, as the backup's node sees it: the stream plays the owner's relay
 * (main) while this node's own publisher stands by; the main goes silent (its node died) and the
 * stream switches to the local one after its silence. The recording here is of the local
 * publisher's own feed, so it has every frame the local publisher sent, through the switch: no
 * frame lost, one timeline, segments ffprobe reads without holes. A recording of what the stream
 * plays would miss the frames between the main's last one and the switch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from '../../src/recording/Recorder.js';
import { Registry } from '../../src/server/Registry.js';
import type { Publisher } from '../../src/server/Publisher.js';
import { encodeSource } from '../media/mp4/source.js';
import { probe, readIndex, segmentsOf } from './tools.js';

const publisher = (id: string, protocol: string): Publisher => ({ id, protocol, remoteAddress: 'test', close() {} });

test('the backup node records its own publisher through the main\'s death and the switch: every frame, one timeline', async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-rec-backup-'));
  try {
    const src = encodeSource({ seconds: 6, gop: 30, bframes: 0 });
    const registry = new Registry({ publisherGraceMs: 10_000, backup: true, silenceMs: 300 });
    const recorder = new Recorder(registry, { settings: () => ({ enabled: true, path: join(root, '{app}/{key}'), segmentSeconds: 2, queueBytes: 8 << 20, replicas: 1 }) });
    const stream = registry.app('live').stream('cam');
    const main = publisher('relay-from-owner', 'relay');
    const local = publisher('local', 'transport');
    assert.equal(stream.publish(main, { standby: true }), 'main');
    assert.equal(recorder.active.get(stream), undefined, 'a relayed stream is not recorded with one replica');
    assert.equal(stream.publish(local, { standby: true }), 'standby');
    const rec = recorder.active.get(stream);
    assert.ok(rec, 'the standby publisher here is recorded');
    for (const p of [main, local]) {
      stream.pushConfig(src.video, p);
      stream.pushConfig(src.audio, p);
    }
    // Wall clock = media time; the main's node dies at 2.5 s (its relay goes silent).
    const t0 = Date.now();
    const killAt = 2500;
    for (const f of src.frames) {
      const now = t0 + f.dts;
      if (f.dts < killAt) stream.pushFrame(f, now, main);
      stream.pushFrame(f, now, local);
      stream.checkSilence(now); // as the App's silence timer does, here on the media clock
    }
    assert.equal(stream.publisher, local, 'the stream switched to the local publisher');
    const played = stream.framesIn;
    stream.close('test over');
    await rec.finished;

    const index = readIndex(rec.dir);
    const segs = segmentsOf(index);
    assert.ok(segs.length >= 3, `segments: ${segs.length}`);
    assert.equal(index.filter((e) => e.type === 'gap').length, 0, 'no gap in the local original');
    const sourceVideo = src.frames.filter((f) => f.kind === 'video').length;
    let video = 0;
    let holes = 0;
    for (const s of segs) {
      const p = await probe(join(rec.dir, s.file));
      video += p.video.count;
      holes += p.video.holes;
      assert.equal(p.errors, '', `${s.file}: ${p.errors}`);
    }
    assert.equal(video, sourceVideo, `video frames recorded ${video} of ${sourceVideo} (the stream itself played ${played} frames of both kinds)`);
    assert.equal(holes, 0);
    for (let i = 1; i < segs.length; i++) assert.ok(segs[i]!.firstDts >= segs[i - 1]!.lastDts, 'one timeline across segments');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a local publisher that reconnects continues the local recording\'s timeline after a gap', async () => {
  const root = mkdtempSync(join(tmpdir(), 'trib-rec-backup-'));
  try {
    const src = encodeSource({ seconds: 3, gop: 30, bframes: 0 });
    const registry = new Registry({ publisherGraceMs: 10_000, backup: true, silenceMs: 300 });
    const recorder = new Recorder(registry, { settings: () => ({ enabled: true, path: join(root, '{app}/{key}'), segmentSeconds: 2, queueBytes: 8 << 20, replicas: 1 }) });
    const stream = registry.app('live').stream('cam');
    stream.publish(publisher('relay-from-owner', 'relay'), { standby: true });
    let t = Date.now();
    for (const id of ['first', 'again']) {
      const p = publisher(id, 'rtmp');
      assert.equal(stream.publish(p, { standby: true }), 'standby');
      stream.pushConfig(src.video, p);
      stream.pushConfig(src.audio, p);
      for (const f of src.frames) stream.pushFrame(f, t + f.dts, p); // the same timestamps both times
      stream.unpublish(p);
      t += 4000;
    }
    const rec = recorder.active.get(stream)!;
    stream.close('test over');
    await rec.finished;
    const index = readIndex(rec.dir);
    const segs = segmentsOf(index);
    assert.equal(index.filter((e) => e.type === 'gap').length, 1, 'the reconnect is one gap line');
    for (let i = 1; i < segs.length; i++) assert.ok(segs[i]!.firstDts > segs[i - 1]!.lastDts, `segment ${i} starts after the one before (${segs[i]!.firstDts} > ${segs[i - 1]!.lastDts})`);
    const last = await probe(join(rec.dir, segs[segs.length - 1]!.file));
    assert.equal(last.errors, '');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
