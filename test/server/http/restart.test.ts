import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { parseConfig } from '../../../src/server/config.js';
import { createLogger } from '../../../src/server/log.js';
import { Server } from '../../../src/server/Server.js';
import { FlvReader } from './flvReader.js';
import { pushRtmp, requireProgram, waitFor } from './tools.js';

/*
 * A real RTMP publisher (ffmpeg) killed with SIGKILL and started again at once: HTTP-FLV,
 * WS-FLV and RTMP-play (ffmpeg) viewers connected before stay connected, get the new
 * publisher's sequence headers, and play on with timestamps that never go back; the LL-HLS
 * packager carries on. When the publisher does not come back, the grace ends and every viewer
 * is closed cleanly.
 */

const GRACE_MS = 6000;
let server: Server;
let http: number;
let rtmp: number;

before(async () => {
  server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, publisherGraceMs: GRACE_MS }), { logger: createLogger('silent') });
  ({ httpPort: http, rtmpPort: rtmp } = await server.start());
});

after(() => server.close());

/** An FLV byte stream with the wall-clock arrival of each tag. */
class Timed {
  readonly reader = new FlvReader();
  readonly arrivals: number[] = [];
  push(d: Uint8Array): void {
    this.reader.push(d);
    while (this.arrivals.length < this.reader.tags.length) this.arrivals.push(Date.now());
  }
  /** Video frames (not sequence headers) with their arrival times. */
  video(): Array<{ ts: number; at: number }> {
    return this.reader.tags.flatMap((t, i) => (t.type === 9 && t.b1 === 1 ? [{ ts: t.ts, at: this.arrivals[i]! }] : []));
  }
  /** Timestamps of one track that go backwards. */
  backwards(type: 8 | 9): string[] {
    const ts = this.reader.tags.filter((t) => t.type === type && !(t.type === 9 && t.b1 === 0) && !(t.type === 8 && t.b1 === 0)).map((t) => t.ts);
    const out: string[] = [];
    for (let i = 1; i < ts.length; i++) if (ts[i]! < ts[i - 1]!) out.push(`${ts[i - 1]} -> ${ts[i]}`);
    return out;
  }
  get avcHeaders(): number {
    return this.reader.tags.filter((t) => t.type === 9 && t.b1 === 0).length;
  }
}

function flvOverHttp(path: string) {
  const t = new Timed();
  let ended = false;
  let closed = false;
  const req = request({ host: '127.0.0.1', port: http, path }, (res) => {
    res.on('data', (d: Buffer) => t.push(d));
    res.on('end', () => (ended = true)); // the chunked terminator: a clean end
    res.on('close', () => (closed = true));
  });
  req.on('error', () => (closed = true));
  req.end();
  return { t, ended: () => ended, closed: () => closed, stop: () => req.destroy() };
}

function flvOverWs(path: string) {
  const t = new Timed();
  const ws = new WebSocket(`ws://127.0.0.1:${http}${path}`);
  let code: number | undefined;
  ws.on('message', (d: Buffer) => t.push(d));
  ws.on('close', (c) => (code = c));
  ws.on('error', () => undefined);
  return { t, code: () => code, stop: () => ws.terminate() };
}

/** ffmpeg playing RTMP and remuxing to FLV on stdout (stream copy). */
function rtmpPlayer(url: string): { t: Timed; p: ChildProcess; exited: () => boolean } {
  requireProgram('ffmpeg');
  const t = new Timed();
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', url, '-c', 'copy', '-f', 'flv', '-flvflags', 'no_duration_filesize', 'pipe:1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let exited = false;
  p.on('exit', () => (exited = true));
  p.stdout!.on('data', (d: Buffer) => t.push(d));
  return { t, p, exited: () => exited };
}

const killed = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

test('viewers stay through a publisher killed and restarted, play on with monotonic timestamps, and are closed cleanly when it does not return', { timeout: 90_000 }, async () => {
  const url = `rtmp://127.0.0.1:${rtmp}/live/r`;
  let pub = pushRtmp(url, 60);
  const players: ChildProcess[] = [];
  try {
    await waitFor('the stream live', () => (server.registry.find('live', 'r')?.videoConfig ? true : undefined), 15_000);
    const hv = flvOverHttp('/live/r.flv');
    const wv = flvOverWs('/live/r.flv');
    const rv = rtmpPlayer(url);
    players.push(rv.p);
    const hls = server.hls.packager('live', 'r')!;
    assert.ok(hls, 'the LL-HLS packager runs');
    await waitFor('every viewer playing', () => (hv.t.video().length > 45 && wv.t.video().length > 45 && rv.t.video().length > 30 ? true : undefined), 20_000);

    // kill -9 and start again at once.
    const lastBefore = { http: hv.t.video().length, ws: wv.t.video().length, rtmp: rv.t.video().length };
    const killAt = Date.now();
    pub.kill('SIGKILL');
    await killed(pub);
    pub = pushRtmp(url, 60);
    const live = await waitFor('the new publisher live', () => (server.registry.find('live', 'r')?.publisher && server.registry.find('live', 'r')?.videoConfig ? Date.now() : undefined), 10_000);
    const counts = () => `http ${hv.t.video().length - lastBefore.http}, ws ${wv.t.video().length - lastBefore.ws}, rtmp ${rv.t.video().length - lastBefore.rtmp}`;
    await waitFor('60 new frames at every viewer', () => (
      hv.t.video().length > lastBefore.http + 60 && wv.t.video().length > lastBefore.ws + 60 && rv.t.video().length > lastBefore.rtmp + 60 ? true : undefined), 20_000)
      .catch((err: Error) => assert.fail(`${err.message} (new frames: ${counts()}; closed: http ${hv.closed()} ws ${wv.code()} rtmp ${rv.exited()})`));

    for (const [name, v] of [['http-flv', hv.t], ['ws-flv', wv.t], ['rtmp', rv.t]] as const) {
      assert.deepEqual(v.backwards(9), [], `${name}: video timestamps went back`);
      assert.deepEqual(v.backwards(8), [], `${name}: audio timestamps went back`);
      const frames = v.video();
      let gap = 0;
      for (let i = 1; i < frames.length; i++) gap = Math.max(gap, frames[i]!.at - frames[i - 1]!.at);
      const restart = live - killAt;
      console.log(`${name}: ${frames.length} frames, publisher back ${restart} ms after the kill, largest gap between frames ${gap} ms`);
      // The restart, plus at most one GOP (1 s) before the new publisher's first keyframe, plus slack.
      assert.ok(gap <= restart + 1000 + 500, `${name}: a ${gap} ms hole for a ${restart} ms restart`);
    }
    assert.ok(hv.t.avcHeaders >= 2 && wv.t.avcHeaders >= 2, 'the new publisher\'s AVC sequence header reached the FLV viewers');
    assert.equal(hv.closed() || rv.exited() || wv.code() !== undefined, false, 'every viewer is still connected');
    assert.equal(server.hls.packager('live', 'r'), hls, 'the same LL-HLS packager carries on');

    // Gone for good: after the grace, clean ends.
    const goneAt = Date.now();
    pub.kill('SIGKILL');
    await killed(pub);
    await new Promise((r) => setTimeout(r, GRACE_MS / 2));
    assert.equal(hv.closed() || rv.exited() || wv.code() !== undefined, false, 'the viewers wait during the grace');
    await waitFor('every viewer closed', () => (hv.closed() && rv.exited() && wv.code() !== undefined ? true : undefined), GRACE_MS + 5000);
    const took = Date.now() - goneAt;
    assert.equal(hv.ended(), true, 'HTTP-FLV ended with the chunked terminator');
    assert.equal(wv.code(), 1000, 'WS-FLV closed with 1000');
    assert.ok(took >= GRACE_MS - 100, `closed after ${took} ms`);
    assert.equal(server.registry.find('live', 'r'), undefined);
  } finally {
    pub.kill('SIGKILL');
    for (const p of players) p.kill('SIGKILL');
  }
});
