import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { makeToken } from '../../src/server/auth.js';
import { parseConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/log.js';
import { Server } from '../../src/server/Server.js';
import { WhipSession } from '../../src/server/webrtc/WhipSession.js';
import { ffprobe, pushRtmp, stop, waitFor } from '../server/http/tools.js';
import { launchChromium } from './chromium.js';

const secret = 'webrtc-test-secret-0123456';
const token = (action: 'publish' | 'play', key = 'cam') => makeToken(secret, { action, app: 'live', key, expiresAt: Date.now() + 600_000 });
let server: Server;
let base: string;
let browser: BrowserContext;
let closeBrowser: () => Promise<void>;
let publisher: Page;
let rtmpPort: number;

before(async () => {
  server = new Server(parseConfig({
    host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 },
    auth: { secret, publish: true, play: true },
    webrtc: { portMin: 23000, portMax: 23199 },
  }), { logger: createLogger('silent') });
  const ports = await server.start();
  rtmpPort = ports.rtmpPort;
  base = `http://127.0.0.1:${ports.httpPort}`;
  ({ browser, close: closeBrowser } = await launchChromium());
});

after(async () => {
  await closeBrowser?.();
  await server?.close();
});

test('Chromium publishes with WHIP (H.264 + Opus) and an HTTP-FLV viewer decodes its video, with AAC made from its Opus', async () => {
  publisher = await browser.newPage();
  await publisher.goto(`${base}/web/publish.html?app=live&key=cam&autostart=1&token=${token('publish')}`);
  const stream = await waitFor('the WHIP publisher to go live with video', () => {
    const s = server.registry.find('live', 'cam');
    return s?.videoConfig && s.framesIn > 30 ? s : undefined;
  }, 20_000).catch(async (err) => {
    const page = await publisher.evaluate(() => (window as unknown as { tributaryPublisher: { stats: unknown } }).tributaryPublisher.stats);
    const s = server.registry.find('live', 'cam');
    throw new Error(`${err.message}; page ${JSON.stringify(page)}; ingest ${JSON.stringify((s?.publisher as WhipSession | undefined)?.stats())}`);
  });
  assert.ok(stream.publisher instanceof WhipSession, 'published by WHIP');
  assert.equal(stream.videoConfig!.codec, 'h264');
  const probe = await ffprobe(`${base}/live/cam.flv?token=${token('play')}`, 3);
  const v = probe.streams.find((s) => s.codec_type === 'video');
  assert.ok(v, `no video stream in ${JSON.stringify(probe)}`);
  assert.equal(v.codec_name, 'h264');
  assert.ok(Number(v.nb_read_frames) >= 30, `ffprobe decoded ${v.nb_read_frames} frames`);
  // The FLV viewer made AAC needed: one ffmpeg turned the browser's Opus into it.
  const pub = stream.publisher as WhipSession;
  assert.equal(pub.transcoderStarts, 1);
  await waitFor('AAC from the Opus transcoder', () => (stream.audioConfig?.codec === 'aac' && pub.transcodeDelayMs.length > 20 ? true : undefined), 10_000);
  const probe2 = await ffprobe(`${base}/live/cam.flv?token=${token('play')}`, 2);
  const a = probe2.streams.find((s) => s.codec_type === 'audio');
  assert.equal(a?.codec_name, 'aac', JSON.stringify(probe2));
  assert.ok(Number(a.nb_read_frames) > 20, `ffprobe decoded ${a.nb_read_frames} AAC frames`);
  // The AAC config emptied the GOP cache, so the server asked the browser for a keyframe (PLI).
  await publisher.waitForFunction(() => ((window as unknown as { tributaryPublisher: { stats: { pliCount: number } } }).tributaryPublisher.stats.pliCount ?? 0) >= 1, undefined, { timeout: 5000 });
  const sent = await publisher.evaluate(() => (window as unknown as { tributaryPublisher: { stats: unknown } }).tributaryPublisher.stats);
  console.log(`publisher: ${JSON.stringify(sent)}`);
  const sorted = [...pub.transcodeDelayMs].sort((x, y) => x - y);
  console.log(`opus->aac delay p50 ${sorted[Math.floor(sorted.length / 2)]} ms over ${sorted.length} frames; ingest ${JSON.stringify(pub.stats())}`);
});

test('a Chromium page plays the stream with WHEP: frames are decoded and shown', async () => {
  assert.ok(publisher, 'the WHIP test ran first');
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${base}/play/live/cam?proto=whep&token=${token('play')}`);
    // Frames the compositor presented, counted by requestVideoFrameCallback, and what getStats says was decoded.
    // A string: tsx would wrap a named function in a helper the page does not have.
    await page.evaluate(`(() => {
      const v = document.querySelector('video');
      window.presented = 0;
      const tick = () => { window.presented++; v.requestVideoFrameCallback(tick); };
      v.requestVideoFrameCallback(tick);
    })()`);
    await page.waitForFunction(() => (window as unknown as { presented: number }).presented > 30, undefined, { timeout: 20_000 });
    await page.waitForFunction(() => ((window as unknown as { tributaryPlayer: { stats: { framesDecoded?: number } } }).tributaryPlayer.stats.framesDecoded ?? 0) > 30, undefined, { timeout: 10_000 });
    const stats = await page.evaluate(() => (window as unknown as { tributaryPlayer: { stats: Record<string, unknown> } }).tributaryPlayer.stats);
    const size = await page.evaluate(() => [document.querySelector('video')!.videoWidth, document.querySelector('video')!.videoHeight]);
    console.log(`whep: ${JSON.stringify(stats)} size ${size}`);
    assert.ok(size[0]! > 0 && size[1]! > 0);
    // Audio too: the publisher's Opus passed through with no transcoding.
    const audio = await page.evaluate(async () => {
      const v = document.querySelector('video')!;
      const pc = (v.srcObject as MediaStream | null)?.getAudioTracks().length ?? 0;
      return pc;
    });
    assert.equal(audio, 1, 'an audio track arrived');
    assert.deepEqual(errors, []);
    assert.equal(server.webrtc!.list().filter((s) => s.use === 'whep' && s.connected).length, 1);
  } finally {
    await page.close();
  }
  // The page's DELETE (pagehide) or the peer's close ends the session.
  await waitFor('the WHEP session to end', () => (server.webrtc!.list().some((s) => s.use === 'whep') ? undefined : true), 10_000);
});

/** The WHEP page's stats (see web/player.js). */
function playerStats(page: Page): Promise<Record<string, number | undefined>> {
  return page.evaluate(() => (window as unknown as { tributaryPlayer: { stats: Record<string, number | undefined> } }).tributaryPlayer.stats);
}

test('WHEP plays an RTMP stream: its AAC reaches the browser as Opus through one ffmpeg, started for the viewer and stopped after it', async () => {
  const push = pushRtmp(`rtmp://127.0.0.1:${rtmpPort}/live/rtmp?token=${token('publish', 'rtmp')}`, 40);
  const page = await browser.newPage();
  try {
    await waitFor('the RTMP push to go live', () => (server.registry.find('live', 'rtmp')?.audioConfig ? true : undefined), 15_000);
    assert.equal(server.webrtc!.opusFeeds.transcoders(), 0, 'no AAC-to-Opus ffmpeg before a WHEP viewer');
    await page.goto(`${base}/play/live/rtmp?proto=whep&token=${token('play', 'rtmp')}`);
    await page.waitForFunction(() => {
      const s = (window as unknown as { tributaryPlayer: { stats: { framesDecoded?: number; audioPacketsReceived?: number } } }).tributaryPlayer.stats;
      return (s.framesDecoded ?? 0) > 30 && (s.audioPacketsReceived ?? 0) > 50;
    }, undefined, { timeout: 20_000 });
    const stats = await playerStats(page);
    console.log(`whep of rtmp: ${JSON.stringify(stats)}`);
    assert.equal(server.webrtc!.opusFeeds.transcoders(), 1);
    assert.equal(await page.evaluate(() => document.querySelector('video')!.videoWidth), 320);
  } finally {
    await page.close();
    await stop(push);
  }
  await waitFor('the transcoder to stop with its last viewer', () => (server.webrtc!.opusFeeds.transcoders() === 0 ? true : undefined), 10_000);
});
