import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../src/server/Registry.js';
import { HlsService, hasMedia } from '../../../src/server/hls/HlsService.js';
import { parseBoxes } from '../../../src/media/mp4/BoxParser.js';
import { encodeSource, ffprobeLive } from '../../media/mp4/source.js';
import { serve, startFeed } from './feed.js';

// 6 s of 640x360 30 fps H.264 with a 2 s GOP + AAC, looped at real pace.
const src = encodeSource({ seconds: 6, gop: 60, bframes: 0 });
const registry = new Registry();
const stream = registry.app('live').stream('k');
const hls = new HlsService(registry);
// A second service on the same stream with room for only 2 held requests.
const small = new HlsService(registry, { targetDurationS: 1, maxHeldRequests: 2 });
const feed = startFeed(stream, src);
hls.packager('live', 'k'); // started on publish, as the server does
const { server, base } = await serve(hls);
const smallServer = await serve(small);

after(() => {
  feed.stop();
  hls.close();
  small.close();
  server.close();
  smallServer.server.close();
});

const url = (file: string) => `${base}/live/k/${file}`;

async function playlist(query = ''): Promise<{ status: number; text: string; ms: number; headers: Headers }> {
  const t0 = performance.now();
  const r = await fetch(url(`index.m3u8${query}`));
  return { status: r.status, text: await r.text(), ms: performance.now() - t0, headers: r.headers };
}

/** The newest part listed: [msn, index]. */
function lastPart(text: string): [number, number] {
  const parts = [...text.matchAll(/URI="part(\d+)\.(\d+)\.m4s"/g)].filter((m) => !text.includes(`PRELOAD-HINT:TYPE=PART,URI="${m[0].slice(5, -1)}"`));
  const m = parts.at(-1)!;
  return [Number(m[1]), Number(m[2])];
}

test('ffprobe plays the live playlist: h264 640x360 and aac', async () => {
  const { streams } = await ffprobeLive(url('index.m3u8'));
  const v = streams.find((s) => s.codec_type === 'video');
  assert.equal(v?.codec_name, 'h264');
  assert.equal(v?.width, 640);
  assert.equal(v?.height, 360);
  assert.equal(streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');
});

test('the playlist has the LL-HLS tags, CORS and no-cache', async () => {
  const r = await playlist();
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  assert.equal(r.headers.get('content-type'), 'application/vnd.apple.mpegurl');
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  for (const tag of ['#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:2', '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,HOLD-BACK=6.000',
    '#EXT-X-PART-INF:PART-TARGET=0.200', '#EXT-X-MAP:URI="init1.mp4"', '#EXT-X-PROGRAM-DATE-TIME:', '#EXT-X-MEDIA-SEQUENCE:', '#EXT-X-PRELOAD-HINT:TYPE=PART']) {
    assert.ok(r.text.includes(tag), `missing ${tag} in\n${r.text}`);
  }
  assert.match(r.text, /#EXTINF:2\.0\d+,\nseg\d+\.m4s/);
  // A play token on the playlist URL is carried to every media URI, and those URIs are served.
  const tok = (await playlist('?token=123.abc-_')).text;
  const uris = [...tok.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!).concat(tok.split('\n').filter((l) => l.startsWith('seg')));
  assert.ok(uris.length > 5 && uris.every((u) => u.endsWith('?token=123.abc-_')), tok);
  assert.equal((await fetch(url(uris.find((u) => u.startsWith('init'))!))).status, 200);
  assert.equal((await fetch(url(uris.find((u) => u.startsWith('seg'))!))).status, 200);
});

test('a blocking reload for the next part is held until that part exists', async () => {
  const [msn, idx] = lastPart((await playlist()).text);
  const notYet = !hasMedia(hls.packager('live', 'k')!, msn, idx + 1);
  const r = await playlist(`?_HLS_msn=${msn}&_HLS_part=${idx + 1}`);
  assert.equal(r.status, 200);
  assert.ok(r.ms < 600, `held ${r.ms.toFixed(0)} ms`);
  const [msn2, idx2] = lastPart(r.text);
  assert.ok((msn2 === msn && idx2 === idx + 1) || (msn2 === msn + 1 && idx2 === 0), `got part ${msn2}.${idx2} after asking for ${msn}.${idx + 1}`);
  assert.ok(notYet, 'the part did not exist when the request was sent');
  console.log(`blocking reload for part ${msn}.${idx + 1} answered after ${r.ms.toFixed(0)} ms`);
});

test('a blocking reload for a segment (no part) is held until that segment is complete', async () => {
  const [msn] = lastPart((await playlist()).text);
  assert.ok(!(await playlist()).text.includes(`\nseg${msn}.m4s\n`));
  const r = await playlist(`?_HLS_msn=${msn}`);
  assert.equal(r.status, 200);
  assert.ok(r.text.includes(`\nseg${msn}.m4s\n`));
  assert.ok(r.ms < 2600, `held ${r.ms.toFixed(0)} ms`);
});

test('the preload hint is answered when its part completes, as one moof + mdat', async () => {
  const text = (await playlist()).text;
  const hint = /PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(text)![1]!;
  const t0 = performance.now();
  const r = await fetch(url(hint));
  const ms = performance.now() - t0;
  const body = new Uint8Array(await r.arrayBuffer());
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'video/mp4');
  assert.deepEqual(parseBoxes(body).map((b) => b.type), ['moof', 'mdat']);
  assert.ok(ms < 600, `hint answered after ${ms.toFixed(0)} ms`);
});

test('plain clients get whole segments and the init segment', async () => {
  const text = (await playlist()).text;
  const seg = /\n(seg\d+\.m4s)\n/.exec(text)![1]!;
  const body = new Uint8Array(await (await fetch(url(seg))).arrayBuffer());
  const types = parseBoxes(body).map((b) => b.type);
  assert.ok(types.length >= 18 && types.every((t, i) => t === (i % 2 ? 'mdat' : 'moof')), types.join(','));
  const init = new Uint8Array(await (await fetch(url('init1.mp4'))).arrayBuffer());
  assert.deepEqual(parseBoxes(init).map((b) => b.type), ['ftyp', 'moov']);
  assert.equal((await fetch(url('init99.mp4'))).status, 404);
});

test('bad requests get 400 or 404 at once', async () => {
  const cur = hls.packager('live', 'k')!.current!.msn;
  assert.equal((await playlist(`?_HLS_msn=${cur + 3}`)).status, 400);
  assert.equal((await playlist('?_HLS_part=1')).status, 400);
  assert.equal((await playlist('?_HLS_msn=abc')).status, 400);
  assert.equal((await fetch(url('part999999.0.m4s'))).status, 404);
  assert.equal((await fetch(url('seg0.m4s'.replace('0', String(cur + 5))))).status, 404);
  assert.equal((await fetch(`${base}/live/nobody/index.m3u8`)).status, 404);
  assert.equal((await fetch(url('notes.txt'))).status, 404); // not an HLS name: the handler declines
  const pre = await fetch(url('index.m3u8'), { method: 'OPTIONS' });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
});

test('held requests are bounded per stream, and time out with 503 when media stops', async () => {
  const surl = (q: string) => `${smallServer.base}/live/k/index.m3u8${q}`;
  const p = small.packager('live', 'k')!;
  // Wait for its first segment, then stop the publisher's frames.
  await fetch(surl(''));
  feed.stop();
  const cur = p.current!.msn;
  const ask = `?_HLS_msn=${cur}&_HLS_part=${p.current!.parts.length + 1}`;
  const t0 = performance.now();
  const held = [fetch(surl(ask)), fetch(surl(ask))];
  await new Promise((r) => setTimeout(r, 100)); // let both reach the server before the third
  const third = await fetch(surl(ask));
  assert.equal(third.status, 503);
  assert.ok(performance.now() - t0 < 1000);
  const statuses = (await Promise.all(held)).map((r) => r.status);
  const waited = performance.now() - t0;
  assert.deepEqual(statuses, [503, 503]);
  // The 2 s GOP raised the target duration from the configured 1 s to 2 s: 3 x 2 s.
  assert.equal(p.targetDurationS, 2);
  assert.ok(waited > 5800 && waited < 7500, `timed out after ${waited.toFixed(0)} ms (3 x target duration)`);
});

test('a packager nobody asks for is stopped after idleTimeoutMs, and restarts on the next request', async () => {
  let clock = 1_000_000;
  const idle = new HlsService(registry, { idleTimeoutMs: 30_000, now: () => clock });
  try {
    idle.packager('live', 'k');
    assert.equal(idle.stats().length, 1);
    clock += 20_000;
    idle.stopIdle();
    assert.equal(idle.stats().length, 1);
    clock += 20_000;
    idle.stopIdle();
    assert.deepEqual(idle.stats(), []);
    const again = idle.packager('live', 'k')!;
    assert.ok(again.nextMsn >= 0);
    assert.equal(idle.stats().length, 1);
  } finally {
    idle.close();
  }
});

test('a publisher leaving keeps the packager through the grace; the stream closing answers held requests and stops it', async () => {
  const p = hls.packager('live', 'k')!;
  const pending = fetch(url(`part${p.current!.msn}.${p.current!.parts.length}.m4s`));
  await new Promise((r) => setTimeout(r, 50));
  stream.unpublish(stream.publisher!);
  assert.equal(hls.stats().length, 1, 'a publisher may come back within the grace');
  assert.equal(hls.packager('live', 'k'), p);
  stream.close('publisher did not return');
  assert.equal((await pending).status, 404);
  assert.deepEqual(hls.stats(), []);
  assert.equal((await playlist()).status, 404);
});
