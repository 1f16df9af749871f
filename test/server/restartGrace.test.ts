import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodecConfig, MediaFrame } from '../../src/media/frame.js';
import { Registry } from '../../src/server/Registry.js';
import { Subscriber } from '../../src/server/Subscriber.js';

/*
 * The Stream and App side of a publisher restart (the end-to-end run with ffmpeg is in
 * test/server/http/restart.test.ts) and the audio-only cache.
 */

class Recorder extends Subscriber {
  frames: MediaFrame[] = [];
  configs: Array<[CodecConfig | undefined, CodecConfig | undefined]> = [];
  closedWith: { reason: string; clean: boolean } | undefined;
  constructor(id: string) {
    super(id, 'test', '127.0.0.1:1', { skipBytes: 1 << 20, cutBytes: 2 << 20 });
  }
  onConfig(v: CodecConfig | undefined, a: CodecConfig | undefined): void {
    this.configs.push([v, a]);
  }
  protected writeFrame(f: MediaFrame): void {
    this.frames.push(f);
  }
  pendingBytes(): number {
    return 0;
  }
  protected onClose(reason: string, clean: boolean): void {
    this.closedWith = { reason, clean };
  }
}

const video = (): CodecConfig => ({ kind: 'video', codec: 'h264', data: new Uint8Array([1, 2, 3]) });
const audio = (): CodecConfig => ({ kind: 'audio', codec: 'aac', data: new Uint8Array([0x12, 0x10]) });
const pub = (id: string) => ({ id, protocol: 'test', remoteAddress: 'x', close() {} });
const vframe = (dts: number, keyframe: boolean): MediaFrame => ({ kind: 'video', codec: 'h264', dts, pts: dts, keyframe, reference: true, data: new Uint8Array(100) });
const aframe = (dts: number): MediaFrame => ({ kind: 'audio', codec: 'aac', dts, pts: dts, keyframe: true, reference: true, data: new Uint8Array(50) });

test('a late joiner of an audio-only stream starts within 1.5 s of live, not at the stream start', () => {
  const s = new Registry().app('live').stream('radio');
  s.publish(pub('p'));
  s.pushConfig(audio());
  // 90 s of AAC at 48 kHz (1024 samples a frame, ~21.3 ms).
  const step = 1024 / 48;
  let dts = 0;
  for (; dts < 90_000; dts += step) s.pushFrame(aframe(dts));
  const r = new Recorder('late');
  s.subscribe(r);
  const first = r.frames[0]!;
  const last = r.frames[r.frames.length - 1]!;
  assert.ok(last.dts > 90_000 - 2 * step, `the cache ends at live (${last.dts})`);
  assert.ok(first.dts >= 90_000 - 1600, `the cache starts near live: ${first.dts.toFixed(0)} ms`);
  assert.ok(r.frames.length >= 60, `it still holds ~1.5 s (${r.frames.length} frames)`);
});

test('a returning publisher: the viewer gets its configs, then its media from the keyframe on, on one monotonic timeline', () => {
  const reg = new Registry({ publisherGraceMs: 5000 });
  const s = reg.app('live').stream('k');
  const r = new Recorder('v');
  s.publish(pub('a'));
  s.pushConfig(video());
  s.pushConfig(audio());
  s.subscribe(r);
  for (let t = 0; t < 2000; t += 33) {
    s.pushFrame(vframe(t, t % 990 === 0));
    s.pushFrame(aframe(t + 5));
  }
  const lastBefore = Math.max(...r.frames.map((f) => f.dts));
  s.unpublish(s.publisher!);
  reg.apps.get('live')!.release(s); // what the RTMP handler does as its publisher leaves
  assert.equal(reg.find('live', 'k'), s, 'the stream waits for its publisher');
  assert.equal(r.isClosed, false);
  const configsBefore = r.configs.length;
  // The new encoder starts its clock at 0, and with an inter frame before its first keyframe.
  s.publish(pub('b'));
  const v2 = video();
  s.pushConfig(v2);
  s.pushConfig(audio());
  s.pushFrame(vframe(0, false));
  s.pushFrame(aframe(3));
  s.pushFrame(vframe(33, true));
  s.pushFrame(vframe(66, false));
  assert.equal(r.configs.length, configsBefore + 2);
  assert.equal(r.configs[r.configs.length - 1]![0], v2, 'the new video config came before its frames');
  const after = r.frames.filter((f) => f.dts > lastBefore);
  assert.deepEqual(after.map((f) => `${f.kind}${f.keyframe && f.kind === 'video' ? '*' : ''}`), ['audio', 'video*', 'video'], 'the inter frame before the keyframe was skipped');
  for (const kind of ['video', 'audio'] as const) {
    const ts = r.frames.filter((f) => f.kind === kind).map((f) => f.dts);
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! >= ts[i - 1]!, `${kind} dts went back at ${i}: ${ts[i - 1]} -> ${ts[i]}`);
  }
  assert.ok(after[0]!.dts - lastBefore <= 100, `the timeline goes on right after the last frame (${after[0]!.dts} after ${lastBefore})`);
});

test('without a returning publisher the viewers are closed cleanly after the grace, and the key is free again', async () => {
  const reg = new Registry({ publisherGraceMs: 150 });
  const app = reg.app('live');
  const s = app.stream('k');
  const r = new Recorder('v');
  s.publish(pub('a'));
  s.pushConfig(video());
  s.subscribe(r);
  s.unpublish(s.publisher!);
  app.release(s);
  await new Promise((res) => setTimeout(res, 60));
  assert.equal(r.isClosed, false);
  await new Promise((res) => setTimeout(res, 150));
  assert.deepEqual(r.closedWith, { reason: 'publisher did not return within 150 ms', clean: true });
  assert.equal(reg.find('live', 'k'), undefined);
});

test('a publisher returning within the grace cancels it; the next departure starts a new one', async () => {
  const reg = new Registry({ publisherGraceMs: 150 });
  const s = reg.app('live').stream('k');
  const r = new Recorder('v');
  s.publish(pub('a'));
  s.subscribe(r);
  s.unpublish(s.publisher!);
  await new Promise((res) => setTimeout(res, 100));
  s.publish(pub('b'));
  await new Promise((res) => setTimeout(res, 150));
  assert.equal(r.isClosed, false, 'the first grace did not fire after the return');
  s.unpublish(s.publisher!);
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(r.isClosed, true);
});

test('a grace of 0 closes the viewers as the publisher leaves', () => {
  const reg = new Registry({ publisherGraceMs: 0 });
  const s = reg.app('live').stream('k');
  const r = new Recorder('v');
  s.publish(pub('a'));
  s.subscribe(r);
  s.unpublish(s.publisher!);
  assert.equal(r.closedWith?.reason, 'publisher left');
});
