import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodecConfig, MediaFrame } from '../../src/media/frame.js';
import { Registry } from '../../src/server/Registry.js';
import { PublishRefusedError } from '../../src/server/Stream.js';
import { Subscriber } from '../../src/server/Subscriber.js';

class Recorder extends Subscriber {
  frames: MediaFrame[] = [];
  configs = 0;
  pending = 0;
  closedWith: string | undefined;
  constructor(id: string) {
    super(id, 'test', '127.0.0.1:1', { skipBytes: 1000, cutBytes: 5000 });
  }
  onConfig(): void {
    this.configs++;
  }
  protected writeFrame(f: MediaFrame): void {
    this.frames.push(f);
  }
  pendingBytes(): number {
    return this.pending;
  }
  protected onClose(reason: string): void {
    this.closedWith = reason;
  }
}

const video: CodecConfig = { kind: 'video', codec: 'h264', data: new Uint8Array([1, 2, 3]) };
const pub = (id: string) => ({ id, protocol: 'test', remoteAddress: 'x', close() {} });
const frame = (dts: number, keyframe: boolean): MediaFrame => ({
  kind: 'video', codec: 'h264', dts, pts: dts, keyframe, reference: true, data: new Uint8Array(100),
});

test('a new viewer starts on the cached keyframe', () => {
  const s = new Registry().app('live').stream('k');
  s.publish(pub('p'));
  s.pushConfig(video);
  s.pushFrame(frame(0, false)); // before any keyframe: not cached
  s.pushFrame(frame(33, true));
  s.pushFrame(frame(66, false));
  const r = new Recorder('v');
  s.subscribe(r);
  assert.equal(r.configs, 1);
  assert.deepEqual(r.frames.map((f) => f.dts), [33, 66]);
});

test('a second publisher on a live key is refused', () => {
  const s = new Registry().app('live').stream('k');
  s.publish(pub('a'));
  assert.throws(() => s.publish(pub('b')), PublishRefusedError);
  assert.equal(s.publisher?.id, 'a');
});

test('frames before config and timestamps going far backwards are dropped and counted', () => {
  const s = new Registry().app('live').stream('k');
  s.publish(pub('a'));
  s.pushFrame(frame(0, true));
  s.pushConfig(video);
  s.pushFrame(frame(5000, true));
  s.pushFrame(frame(1000, false));
  assert.equal(s.framesDropped, 2);
  assert.equal(s.framesIn, 1);
});

test('a slow viewer skips to the next keyframe, and a stuck one is cut', () => {
  const s = new Registry().app('live').stream('k');
  s.publish(pub('a'));
  s.pushConfig(video);
  const r = new Recorder('v');
  s.subscribe(r);
  s.pushFrame(frame(0, true));
  r.pending = 2000;
  s.pushFrame(frame(33, false));
  r.pending = 0;
  s.pushFrame(frame(66, false)); // still skipping: waits for a keyframe
  s.pushFrame(frame(99, true));
  assert.deepEqual(r.frames.map((f) => f.dts), [0, 99]);
  assert.equal(r.skippedFrames, 2);
  r.pending = 6000;
  s.pushFrame(frame(132, false));
  assert.match(r.closedWith ?? '', /too slow/);
});
