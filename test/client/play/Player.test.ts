import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server } from '../../../src/server/Server.js';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Sender } from '../../../src/client/send/Sender.js';
import type { MediaInput, MediaSink } from '../../../src/client/send/inputs.js';
import { Player } from '../../../src/client/play/Player.js';
import { FlvDemuxer } from '../../../src/media/flv/FlvDemuxer.js';
import { AUDIO_CONFIG, frameId, toMediaFrame, VIDEO_CONFIG } from '../../../src/bench/fanout/stream.js';
import { encodeConfig, encodeFrame } from '../../../src/media/tributary/messages.js';

/**
 * A publisher whose encoder has not given its first keyframe yet: configs, then audio every
 * 20 ms, and video (a keyframe, then P frames every 40 ms) only once startVideo() is called.
 * Audio ids count up from 0, video ids from 100000.
 */
class AudioFirstInput implements MediaInput {
  readonly describe = 'audio first';
  private timer: NodeJS.Timeout | undefined;
  private videoFromMs = Infinity;
  private t0 = 0;
  startVideo(): void {
    this.videoFromMs = Date.now() - this.t0;
  }
  async start(sink: MediaSink): Promise<void> {
    sink.config(VIDEO_CONFIG);
    sink.config(AUDIO_CONFIG);
    const t0 = (this.t0 = Date.now());
    let audio = 0;
    let video = 0;
    this.timer = setInterval(() => {
      const t = Date.now() - t0;
      while (audio * 20 <= t) sink.frame({ ...toMediaFrame({ id: audio, kind: 'audio', size: 200, keyframe: false, reference: true, capture: audio * 20, refId: -1 }), dts: audio * 20, pts: audio * 20, captureTime: Date.now() }), audio++;
      while (t >= this.videoFromMs && this.videoFromMs + video * 40 <= t) {
        const dts = this.videoFromMs + video * 40;
        const keyframe = video % 50 === 0;
        sink.frame({ ...toMediaFrame({ id: 100000 + video, kind: 'video', size: keyframe ? 8000 : 1000, keyframe, reference: true, capture: dts, refId: -1 }), dts, pts: dts, captureTime: Date.now() });
        video++;
      }
    }, 10);
  }
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms: ${what}`);
  }
}

test('tributary play joining a stream before its first keyframe writes the audio at once; video starts on the keyframe, later in the same output', { timeout: 60_000 }, async () => {
  const server = new Server(parseConfig({ host: '127.0.2.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const { transportPort } = await server.start();
  let sender: Sender | undefined;
  let player: Player | undefined;
  const chunks: Uint8Array[] = [];
  const input = new AudioFirstInput();
  const written = () => new FlvDemuxer().push(Buffer.concat(chunks)).flatMap((o) => (o.type === 'frame' ? [o.frame] : []));
  try {
    sender = await Sender.start({ input, output: `tributary://127.0.2.1:${transportPort}/live/a1` });
    await until(() => server.registry.find('live', 'a1')?.audioConfig !== undefined, 15_000, 'the sender publishing');
    player = await Player.start(`tributary://127.0.2.1:${transportPort}/live/a1`, { format: 'flv', write: (c) => (chunks.push(c), true) });
    // Before the fix the player threw every audio frame away until the first keyframe.
    await until(() => written().filter((f) => f.kind === 'audio').length >= 25, 15_000, `25 audio frames written with no keyframe yet (skipped ${player.stats.skipped})`);
    input.startVideo();
    await until(() => written().filter((f) => f.kind === 'video').length >= 20, 15_000, '20 video frames written');
    const frames = written();
    const firstVideo = frames.findIndex((f) => f.kind === 'video');
    assert.ok(frames[firstVideo]!.keyframe, 'video starts on a keyframe');
    // One timeline: each track's dts goes forward, and the keyframe lands next to the audio
    // around it (audio, sent first by the transport, may pass a large keyframe on the way).
    for (const kind of ['audio', 'video']) {
      const d = frames.filter((f) => f.kind === kind).map((f) => f.dts);
      assert.ok(d.every((x, i) => i === 0 || x > d[i - 1]!), `${kind} dts go forward`);
    }
    assert.ok(Math.abs(frames[firstVideo]!.dts - frames[firstVideo - 1]!.dts) < 1000, `keyframe at ${frames[firstVideo]!.dts} ms next to audio at ${frames[firstVideo - 1]!.dts} ms`);
    assert.ok(frameId(frames[firstVideo]!)! >= 100000, 'the first video written is the publisher\'s first keyframe');
  } finally {
    await player?.close();
    await sender?.close();
    await server.close();
  }
});

test('tributary play: audio that overtook the first keyframe on the wire does not cost that keyframe (the P-frames after it never go out alone)', () => {
  // The transport's priorities let a small audio frame pass a large keyframe sent just before it,
  // so the output's time 0 (its first frame, the audio) may come a few ms after the keyframe's
  // dts. The connection here is the smallest stand-in for a MediaConnection: Player only
  // subscribes to its messages and to its session's close.
  let deliver: (d: Uint8Array) => void = () => undefined;
  const conn = { session: { on: () => undefined }, onMessage: (h: (d: Uint8Array) => void) => (deliver = h), client: { close: async () => undefined } };
  const chunks: Uint8Array[] = [];
  const PlayerCtor = Player as unknown as new (c: unknown, o: unknown) => Player;
  const player = new PlayerCtor(conn, { format: 'flv', write: (c: Uint8Array) => (chunks.push(c), true) });
  deliver(encodeConfig(VIDEO_CONFIG));
  deliver(encodeConfig(AUDIO_CONFIG));
  const frame = (id: number, kind: 'audio' | 'video', dts: number, keyframe: boolean) =>
    encodeFrame({ ...toMediaFrame({ id, kind, size: kind === 'video' ? 1000 : 200, keyframe, reference: true, capture: dts, refId: -1 }), dts, pts: dts });
  deliver(frame(0, 'audio', 1010, false)); // overtook the keyframe
  deliver(frame(100000, 'video', 1000, true));
  for (let i = 1; i <= 5; i++) deliver(frame(100000 + i, 'video', 1000 + 40 * i, false)), deliver(frame(i, 'audio', 1010 + 20 * i, false));
  const frames = new FlvDemuxer().push(Buffer.concat(chunks)).flatMap((o) => (o.type === 'frame' ? [o.frame] : []));
  const video = frames.filter((f) => f.kind === 'video');
  assert.equal(video.length, 6, `${video.length} video frames written (skipped ${player.stats.skipped})`);
  assert.ok(video[0]!.keyframe, 'video starts on the keyframe');
  assert.equal(video[0]!.dts, 0);
});
