/**
 * Main/backup publishing on one node, with real sockets: two RTMP publishers (the project's
 * RtmpPushClient) on one key of an app with `backup: true`, an HTTP-FLV viewer reading the
 * server's bytes. The viewer's own clock measures the gaps; frame payloads carry which
 * publisher made them.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import { FlvDemuxer } from '../../../src/media/flv/FlvDemuxer.js';
import type { CodecConfig, MediaFrame } from '../../../src/media/frame.js';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { RtmpPushClient } from '../../../src/server/rtmp/RtmpPushClient.js';
import { Server } from '../../../src/server/Server.js';

const HOST = '127.0.3.41';
const SPS = [0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xa4, 0x80];
const PPS = [0x68, 0xcb, 0x83, 0xcb, 0x20];
const VIDEO: CodecConfig = { kind: 'video', codec: 'h264', data: new Uint8Array([1, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0, SPS.length, ...SPS, 1, 0, PPS.length, ...PPS]) };
const AUDIO: CodecConfig = { kind: 'audio', codec: 'aac', data: new Uint8Array([0x12, 0x10]), sampleRate: 44100, channels: 2 };

/** A synthetic encoder: 30 fps video (keyframe every `gopMs`) and 50/s audio, on its own clock, marked `mark`. */
class Encoder {
  private timer: NodeJS.Timeout | undefined;
  private t0 = performance.now();
  private lastKey = -Infinity;
  paused = false;
  constructor(readonly client: RtmpPushClient, readonly mark: number, private readonly clockStart: number, private readonly gopMs = 1000) {}

  static async start(url: string, mark: number, clockStart: number): Promise<Encoder> {
    const c = await RtmpPushClient.publish(url);
    c.sendConfig(VIDEO);
    c.sendConfig(AUDIO);
    const e = new Encoder(c, mark, clockStart);
    let n = 0;
    e.timer = setInterval(() => {
      if (e.paused) return;
      const t = Math.round(performance.now() - e.t0) + e.clockStart;
      if (n++ % 3 === 0) e.client.sendFrame(frame('audio', t, false, mark));
      const key = t - e.lastKey >= e.gopMs;
      if (key) e.lastKey = t;
      e.client.sendFrame(frame('video', t, key, mark));
    }, 33);
    return e;
  }

  stop(): void {
    clearInterval(this.timer);
    this.client.close();
  }
}

function frame(kind: 'video' | 'audio', t: number, keyframe: boolean, mark: number): MediaFrame {
  const data = new Uint8Array(kind === 'video' ? (keyframe ? 2000 : 400) : 100).fill(mark);
  if (kind === 'video') data.set([0, 0, 0, data.length - 4, keyframe ? 0x65 : 0x41]);
  return { kind, codec: kind === 'video' ? 'h264' : 'aac', dts: t, pts: t, keyframe, reference: true, data };
}

/** An HTTP-FLV viewer: every video frame's arrival time, dts and maker; config tags counted. */
class Viewer {
  readonly video: { at: number; dts: number; mark: number; key: boolean }[] = [];
  configs = 0;
  ended: string | undefined;
  private readonly req: ClientRequest;
  private readonly demuxer = new FlvDemuxer();
  constructor(url: string) {
    this.req = request(url, { agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        const at = performance.now();
        for (const o of this.demuxer.push(chunk)) {
          if (o.type === 'config') this.configs++;
          if (o.type === 'frame' && o.frame.kind === 'video') this.video.push({ at, dts: o.frame.dts, mark: o.frame.data[o.frame.data.length - 1]!, key: o.frame.keyframe });
        }
      });
      res.on('close', () => (this.ended ??= 'closed'));
    });
    this.req.on('error', (e) => (this.ended ??= e.message));
    this.req.end();
  }
  /** Longest time between two video frames arriving in [from, to]. */
  gap(from: number, to: number): number {
    let last = from;
    let g = 0;
    for (const v of this.video) {
      if (v.at < from || v.at > to) continue;
      g = Math.max(g, v.at - last);
      last = v.at;
    }
    return Math.max(g, to - last);
  }
  marksAfter(t: number): Set<number> {
    return new Set(this.video.filter((v) => v.at > t).map((v) => v.mark));
  }
  close(): void {
    this.req.destroy();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const server = new Server(parseConfig({ host: HOST, httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, webrtc: { enabled: false }, logLevel: 'silent', apps: { live: { backup: true } } }), { logger: createLogger('silent') });
const stops: (() => void)[] = [];
after(async () => {
  for (const s of stops) s();
  await server.close();
});

test('main stops, then goes silent: the viewer stays on one connection with no gap over 500 ms and monotonic timestamps; a returning main stands by', async () => {
  const { httpPort, rtmpPort } = await server.start();
  const url = `rtmp://${HOST}:${rtmpPort}/live/show`;
  const main = await Encoder.start(url, 0xa1, 0);
  stops.push(() => main.stop());
  // The backup's clock is far from the main's: the server has to rebase it.
  const backup = await Encoder.start(url, 0xb2, 500_000);
  stops.push(() => backup.stop());
  const stream = server.registry.find('live', 'show')!;
  await until('the backup stands by', () => stream.standby !== undefined);
  const viewer = new Viewer(`http://${HOST}:${httpPort}/live/show.flv`);
  stops.push(() => viewer.close());
  await until('the viewer plays the main', () => viewer.video.length > 30);
  await sleep(1200); // the backup has a keyframe in hand
  assert.deepEqual([...viewer.marksAfter(0)], [0xa1], 'only the main is seen while it publishes');

  // 1. The main's encoder stops (its connection ends).
  const stopAt = performance.now();
  main.stop();
  await sleep(1500);
  assert.deepEqual([...viewer.marksAfter(stopAt + 600)], [0xb2], 'the backup took over');
  const gap1 = viewer.gap(stopAt - 500, performance.now());
  assert.ok(gap1 <= 500, `gap after the main stopped: ${Math.round(gap1)} ms`);

  // 2. The main comes back: it stands by, the backup stays on air (no flapping back).
  const back = await Encoder.start(url, 0xa1, 0);
  stops.push(() => back.stop());
  await sleep(1500);
  assert.equal(stream.standby?.protocol, 'rtmp');
  const backAt = performance.now();
  await sleep(1000);
  assert.deepEqual([...viewer.marksAfter(backAt)], [0xb2], 'the returning main does not take over');

  // 3. The backup goes silent (connected, sending nothing): after ~300 ms the returned main takes over.
  const silentAt = performance.now();
  backup.paused = true;
  await sleep(1500);
  assert.deepEqual([...viewer.marksAfter(silentAt + 700)], [0xa1], 'the standby took over from the silent one');
  const gap2 = viewer.gap(silentAt - 500, performance.now());
  assert.ok(gap2 <= 500, `gap after the backup went silent: ${Math.round(gap2)} ms`);
  // ... and when the silent one speaks again it stays the standby.
  const resumeAt = performance.now();
  backup.paused = false;
  await sleep(800);
  assert.deepEqual([...viewer.marksAfter(resumeAt)], [0xa1], 'the resumed one stands by');

  assert.equal(viewer.ended, undefined, 'the viewer was never disconnected');
  assert.equal(viewer.configs, 2, 'one video and one audio sequence header: the same configs are not sent again');
  for (let i = 1; i < viewer.video.length; i++) {
    assert.ok(viewer.video[i]!.dts >= viewer.video[i - 1]!.dts, `video dts went back: ${viewer.video[i - 1]!.dts} -> ${viewer.video[i]!.dts}`);
  }
  // Each switch starts on a keyframe.
  for (let i = 1; i < viewer.video.length; i++) if (viewer.video[i]!.mark !== viewer.video[i - 1]!.mark) assert.ok(viewer.video[i]!.key, `switch at frame ${i} is not a keyframe`);
  assert.equal(stream.switches, 2);
});

test('a third publisher is refused while main and backup publish', async () => {
  const { rtmpPort } = await server.start();
  const url = `rtmp://${HOST}:${rtmpPort}/live/three`;
  const a = await RtmpPushClient.publish(url);
  stops.push(() => a.close());
  const b = await RtmpPushClient.publish(url);
  stops.push(() => b.close());
  await assert.rejects(RtmpPushClient.publish(url), /already has a main and a backup/);
});
