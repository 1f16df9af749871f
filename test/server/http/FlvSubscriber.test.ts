import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodecConfig, MediaFrame } from '../../../src/media/frame.js';
import { FlvSubscriber, type FlvSink } from '../../../src/server/http/FlvSubscriber.js';
import { FlvReader } from './flvReader.js';
import { LoopLoad } from '../../../src/server/limits/LoopLoad.js';
import { fixture } from './fixture.js';

/*
 * The FLV viewer's batching and slow-viewer rules, against a sink that stands for a socket
 * whose fill level the test sets (the real-socket runs are slowViewers and hostile tests).
 */

class Socketish implements FlvSink {
  readonly reader = new FlvReader();
  writes = 0;
  held = 0;
  kernel: number | undefined;
  ended: { reason: string; clean: boolean } | undefined;
  write(chunks: readonly Uint8Array[]): void {
    this.writes++;
    for (const c of chunks) this.reader.push(c);
  }
  buffered(): number {
    return this.held;
  }
  kernelQueued(): number | undefined {
    return this.kernel;
  }
  end(reason: string, clean: boolean): void {
    this.ended = { reason, clean };
  }
}

const turn = () => new Promise((r) => setImmediate(r));
const limits = { skipBytes: 4 << 20, cutBytes: 8 << 20 };

function configs(): { video: CodecConfig; audio: CodecConfig; frames: MediaFrame[] } {
  const fx = fixture();
  return { video: fx.configs.find((c) => c.kind === 'video')!, audio: fx.configs.find((c) => c.kind === 'audio')!, frames: fx.frames };
}

test('the tags of one turn (a GOP replay on join) go out as one write', async () => {
  const { video, audio, frames } = configs();
  const sink = new Socketish();
  const sub = new FlvSubscriber('v', 'http-flv', '-', limits, sink);
  sub.onConfig(video, audio, undefined);
  for (const f of frames.slice(0, 40)) sub.deliver(f);
  await turn();
  assert.equal(sink.writes, 1);
  assert.ok(sink.reader.tags.length >= 40);
});

test('a blocked viewer: a keyframe replaces the media it did not take, a new config is kept, and the FLV stays whole', async () => {
  const { video, audio, frames } = configs();
  let now = 0;
  const sink = new Socketish();
  const sub = new FlvSubscriber('v', 'http-flv', '-', limits, sink, 10_000, () => now);
  sub.onConfig(video, audio, undefined);
  sub.deliver(frames[0]!);
  await turn();
  const firstKey = frames.findIndex((f, i) => i > 0 && f.kind === 'video' && f.keyframe);
  sink.held = 1 << 20; // the socket stopped taking bytes
  for (const f of frames.slice(1, firstKey - 10)) sub.deliver(f);
  await turn();
  const writesWhileBlocked = sink.writes;
  const video2: CodecConfig = { ...video, data: video.data.slice() }; // a returning publisher's config
  sub.onConfig(video2, audio, undefined);
  for (const f of frames.slice(firstKey - 10, firstKey + 5)) sub.deliver(f);
  await turn();
  assert.equal(sink.writes, writesWhileBlocked, 'nothing written while blocked');
  assert.ok(sub.skippedFrames >= firstKey - 2, `the stale media was dropped (${sub.skippedFrames} skipped)`);
  sink.held = 0;
  sub.drained();
  const video9 = sink.reader.tags.filter((t) => t.type === 9);
  const afterFirst = video9.slice(2); // the first sequence header and the first frame
  assert.equal(afterFirst[0]!.b1, 0, 'the kept config comes first');
  assert.equal(afterFirst[1]!.b0 >> 4, 1, 'then a keyframe');
  assert.equal(sub.isClosed, false);
});

test('a viewer whose socket has not drained for stallCutMs is cut, and its socket destroyed, not ended', async () => {
  const { video, audio, frames } = configs();
  let now = 0;
  const sink = new Socketish();
  const sub = new FlvSubscriber('v', 'http-flv', '-', limits, sink, 3000, () => now);
  sub.onConfig(video, audio, undefined);
  sink.held = 1 << 20;
  for (const f of frames.slice(0, 30)) sub.deliver(f);
  await turn();
  now = 2999;
  sub.deliver(frames[30]!);
  await turn();
  assert.equal(sub.isClosed, false);
  now = 3000;
  sub.deliver(frames[31]!);
  await turn();
  assert.equal(sub.isClosed, true);
  assert.equal(sink.ended?.clean, false);
  assert.match(sink.ended!.reason, /did not drain for 3000 ms/);
});

test('with the kernel visible: no byte acknowledged for stallCutMs cuts the viewer even with Node\'s buffer empty', async () => {
  const { video, audio, frames } = configs();
  let now = 0;
  const sink = new Socketish();
  const sub = new FlvSubscriber('v', 'http-flv', '-', limits, sink, 3000, () => now);
  sub.onConfig(video, audio, undefined);
  for (const f of frames.slice(0, 30)) sub.deliver(f);
  await turn();
  sink.kernel = 200_000; // everything written sits in the kernel, unacknowledged
  for (; now <= 2500; now += 500) sub.sampled();
  await turn();
  assert.equal(sub.isClosed, false);
  now = 3500;
  sub.sampled();
  await turn();
  assert.equal(sub.isClosed, true);
  assert.match(sink.ended!.reason, /nothing acknowledged/);
});

test('with the kernel visible: bytes written while a poll runs are not taken as acknowledged, so a reader acknowledging slowly is not taken for a silent one', async () => {
  const { video, audio, frames } = configs();
  let now = 0;
  const sink = new Socketish();
  const sub = new FlvSubscriber('v', 'http-flv', '-', limits, sink, 1500, () => now);
  sub.onConfig(video, audio, undefined);
  for (const f of frames.slice(0, 60)) sub.deliver(f);
  await turn();
  const before = sink.reader.bytes;
  let acked = 0;
  // A poll begins; the kernel reads this socket's row; then a burst is written before the
  // poll's result comes back (the file is read in chunks, turns of the event loop apart).
  now = 500;
  sub.pollStarted();
  sink.kernel = before - acked;
  for (const f of frames.slice(60, 90)) sub.deliver(f);
  await turn();
  const burst = sink.reader.bytes - before;
  assert.ok(burst > 40_000 && before - acked > 64 << 10, `a burst of ${burst} bytes over ${before} held`);
  sub.sampled();
  // The reader acknowledges 10 KB a sample from then on, less than the burst; nothing more is written.
  for (now = 1000; now <= 3000; now += 500) {
    acked += 10_000;
    sub.pollStarted();
    sink.kernel = sink.reader.bytes - acked;
    sub.sampled();
    await turn();
  }
  // Before: the burst counted as acknowledged, the exact samples after it fell below that mark,
  // and the viewer was stopped at 1.5 s and cut at 2 s while it acknowledged 10 KB every 500 ms.
  assert.equal(sub.isClosed, false, `cut: ${sink.ended?.reason}`);
});

test('merged writes: audio waits for the next video frame (or mergeWriteMs), video leaves at once', async () => {
  const { video, audio, frames } = configs();
  const audioFrames = frames.filter((f) => f.kind === 'audio').slice(0, 3);
  const videoFrame = frames.find((f) => f.kind === 'video' && f.keyframe)!;
  const sink = new Socketish();
  const sub = new FlvSubscriber('v', 'http-flv', '-', { ...limits, mergeWriteMs: 30 }, sink);
  sub.onConfig(video, audio, undefined);
  await turn();
  const afterHeader = sink.writes;
  const tagsBefore = sink.reader.tags.length;
  sub.deliver(videoFrame);
  await turn();
  assert.equal(sink.writes, afterHeader + 1, 'a video frame leaves in its own turn');
  for (const a of audioFrames) {
    sub.deliver(a);
    await turn();
  }
  assert.equal(sink.writes, afterHeader + 1, 'audio tags of separate turns wait');
  sub.deliver(videoFrame);
  await turn();
  assert.equal(sink.writes, afterHeader + 2, 'the waiting audio leaves with the next video frame, in one write');
  assert.equal(sink.reader.tags.length, tagsBefore + 5);
  // No video comes: the timer sends the audio.
  sub.deliver(audioFrames[0]!);
  await turn();
  assert.equal(sink.writes, afterHeader + 2);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(sink.writes, afterHeader + 3, 'mergeWriteMs bounds the wait');
  sub.close('done');
});

test('mergeWriteMs 0: every turn writes what it delivered', async () => {
  const { video, audio, frames } = configs();
  const sink = new Socketish();
  const sub = new FlvSubscriber('v', 'http-flv', '-', { ...limits, mergeWriteMs: 0 }, sink);
  sub.onConfig(video, audio, undefined);
  await turn();
  const w0 = sink.writes;
  const audioFrames = frames.filter((f) => f.kind === 'audio').slice(0, 3);
  sub.deliver(frames.find((f) => f.kind === 'video' && f.keyframe)!);
  for (const a of audioFrames) {
    await turn();
    sub.deliver(a);
  }
  await turn();
  assert.equal(sink.writes, w0 + 4);
  sub.close('done');
});

test('a busy loop: video waits too, up to busyMergeWriteMs, so several frames leave in one write; an idle loop writes each at once', async () => {
  const { video, audio, frames } = configs();
  const videoFrames = frames.filter((f) => f.kind === 'video').slice(0, 4);
  const sink = new Socketish();
  const load = new LoopLoad();
  const sub = new FlvSubscriber('v', 'http-flv', '-', { ...limits, mergeWriteMs: 0, busyMergeWriteMs: 50, load }, sink);
  sub.onConfig(video, audio, undefined);
  await turn();
  const w0 = sink.writes;
  load.update(0.9);
  assert.equal(load.busy, true);
  for (const f of videoFrames) {
    sub.deliver(f);
    await turn();
  }
  assert.equal(sink.writes, w0, 'while busy, frames of separate turns wait');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(sink.writes, w0 + 1, 'busyMergeWriteMs bounds the wait: all four in one write');
  load.update(0.6);
  assert.equal(load.busy, true, 'hysteresis: still busy between the two lines');
  load.update(0.4);
  assert.equal(load.busy, false);
  sub.deliver(videoFrames[0]!);
  await turn();
  assert.equal(sink.writes, w0 + 2, 'idle again: a video frame leaves in its own turn');
  sub.close('done');
});

test('LoopLoad: utilization outside 0..1 or not a number is bounded, never trusted', () => {
  const load = new LoopLoad();
  load.update(Number.NaN);
  assert.equal(load.utilization, 0);
  assert.equal(load.busy, false);
  load.update(7);
  assert.equal(load.utilization, 1);
  assert.equal(load.busy, true);
  load.update(-3);
  assert.equal(load.busy, false);
  assert.equal(load.busyTransitions, 1);
});

test('followDrain: each kernel sample reports what the peer has not taken (server queue and kernel), and a network cap keeps the rest here', async () => {
  const { video, audio, frames } = configs();
  const sink = new Socketish();
  sink.kernel = 0;
  let fast = 0;
  (sink as FlvSink).kernelFast = () => void fast++;
  let written = 0;
  const write = sink.write.bind(sink);
  sink.write = (chunks) => {
    for (const c of chunks) written += c.length;
    write(chunks);
  };
  const sub = new FlvSubscriber('v', 'http-flv', '-', limits, sink);
  const samples: Array<{ sent: number; pending: number; network: number }> = [];
  assert.equal(sub.followDrain((_at, sent, pending, network) => samples.push({ sent, pending, network })), true);
  assert.equal(fast, 1, 'asks the poller to look more often');
  sub.setNetworkCap(40_000);
  sub.onConfig(video, audio, undefined);
  sub.pollStarted();
  sub.sampled();
  for (const f of frames.slice(0, 60)) {
    sub.deliver(f);
    await turn();
  }
  const handed = written;
  assert.ok(handed > 0 && sub.bytesSent > handed, `handed ${handed} of ${sub.bytesSent}`);
  // The kernel acknowledged nothing: it holds everything handed; past the cap, the rest waits here.
  sink.kernel = handed;
  sub.pollStarted();
  sub.sampled();
  const s = samples[samples.length - 1]!;
  assert.equal(s.network, handed);
  assert.equal(s.sent, sub.bytesSent);
  assert.equal(s.pending, sub.bytesSent, 'nothing acknowledged: all of it pending');
  assert.ok(handed < 40_000 + 20_000, `handed ${handed} bytes to the kernel past a 40 KB cap`);
  // The peer takes it all: nothing pending but what waited here.
  sink.kernel = 0;
  sub.pollStarted();
  sub.sampled();
  assert.equal(samples[samples.length - 1]!.pending, samples[samples.length - 1]!.sent - handed);
});
