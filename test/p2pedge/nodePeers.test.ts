import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { P2pPeer } from '../../src/client/p2p/P2pPeer.js';
import { ffprobe, pushRtmp, stop, waitFor } from '../server/http/tools.js';
import { serve, type Served } from './serveProcess.js';

// Two `tributary play --p2p` processes (real CLI, werift data channels) on one serve process
// with a real RTMP publisher: the second must take slices from the first over a data channel,
// and what each wrote must be an FLV ffprobe decodes.

let served: Served;
let push: ChildProcess;
const dir = mkdtempSync(join(tmpdir(), 'trib-p2p-node-'));
const players: ChildProcess[] = [];

before(async () => {
  served = await serve({ p2p: { enabled: true } });
  push = pushRtmp(`rtmp://127.0.0.1:${served.rtmpPort}/live/cam`, 600);
});

after(async () => {
  for (const p of players) await stop(p);
  if (push) await stop(push);
  await served?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Line {
  share: number;
  peer: number;
  edge: number;
  played: number;
  channels: number;
  garbage: number;
}

function play(url: string, out: string): { child: ChildProcess; last: () => Line | undefined; log: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'play', '--p2p', '--stats', '-o', out, url], { stdio: ['ignore', 'ignore', 'pipe'] });
  players.push(child);
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d).slice(-20_000)));
  const last = (): Line | undefined => {
    const all = [...log.matchAll(/p2p: ([\d.]+)% from peers \((\d+) peer \/ (\d+) edge bytes\), (\d+) played, \d+ missed, (\d+) channels, (\d+) garbage dropped/g)];
    const m = all[all.length - 1];
    return m ? { share: Number(m[1]) / 100, peer: Number(m[2]), edge: Number(m[3]), played: Number(m[4]), channels: Number(m[5]), garbage: Number(m[6]) } : undefined;
  };
  return { child, last, log: () => log };
}

test('two native peers: slices cross a werift data channel and both outputs decode', { timeout: 120_000 }, async () => {
  const url = `http://127.0.0.1:${served.httpPort}/live/cam`;
  // The stream must be live before a peer may join (P2pService refuses "not live").
  await new Promise((r) => setTimeout(r, 3000));
  const a = play(url, join(dir, 'a.flv'));
  await waitFor('the first peer plays', () => ((a.last()?.played ?? 0) > 30 ? true : undefined), 30_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${a.log()}\n${served.log().slice(-2000)}`);
  });
  const b = play(url, join(dir, 'b.flv'));
  // Any peer byte is a slice that crossed and passed the edge's hash (75-82 KB at low load, less at high).
  await waitFor('a peer takes slices from the other', () => ((a.last()?.peer ?? 0) + (b.last()?.peer ?? 0) > 0 ? true : undefined), 40_000).catch((e: Error) => {
    throw new Error(`${e.message}\nA: ${a.log().slice(-1500)}\nB: ${b.log().slice(-1500)}`);
  });
  await new Promise((r) => setTimeout(r, 3000));
  await stop(a.child);
  await stop(b.child);
  const la = a.last()!;
  const lb = b.last()!;
  console.log(`peer A: ${JSON.stringify(la)}; peer B: ${JSON.stringify(lb)}`);
  assert.ok(la.channels + lb.channels >= 1, 'a data channel was open');
  assert.ok(lb.played > 30, 'the second peer played');
  assert.equal(la.garbage + lb.garbage, 0, 'honest peers send nothing the other drops');
  for (const name of ['a.flv', 'b.flv']) {
    const file = join(dir, name);
    assert.ok(statSync(file).size > 10_000, `${name} has bytes`);
    const probe = await ffprobe(file, 600);
    const video = probe.streams.find((s) => s.codec_type === 'video');
    assert.equal(video?.codec_name, 'h264', `${name}: ${JSON.stringify(probe)}`);
    assert.ok(Number(video?.nb_read_frames) > 30, `${name} decodes frames: ${JSON.stringify(probe)}`);
  }
});

test('a peer that sends garbage over its data channels: dropped and counted, the honest peer plays on', { timeout: 90_000 }, async () => {
  const url = `http://127.0.0.1:${served.httpPort}/live/cam`;
  const honestFile = join(dir, 'honest.flv');
  const honest = play(url, honestFile);
  await waitFor('the honest peer plays', () => ((honest.last()?.played ?? 0) > 30 ? true : undefined), 30_000);
  // A real P2pPeer whose every message to a peer is replaced by random bytes (signalling to
  // the edge untouched, so channels still open).
  let garbageSent = 0;
  const rogue = new P2pPeer({
    url,
    write: () => undefined,
    outgoing: (_to, bytes) => {
      garbageSent++;
      return randomBytes(Math.max(8, bytes.length));
    },
  });
  try {
    await waitFor('the honest peer drops garbage', () => ((honest.last()?.garbage ?? 0) > 0 ? true : undefined), 40_000).catch((e: Error) => {
      throw new Error(`${e.message}\nrogue: ${JSON.stringify(rogue.stats)} sent ${garbageSent}\nhonest: ${honest.log().slice(-1500)}`);
    });
    const before = honest.last()!;
    await new Promise((r) => setTimeout(r, 3000));
    const later = honest.last()!;
    console.log(`honest: ${JSON.stringify(later)}; rogue sent ${garbageSent} garbage messages`);
    assert.ok(later.played > before.played + 30, 'it keeps playing');
  } finally {
    rogue.stop('test over');
  }
  await stop(honest.child);
  const probe = await ffprobe(honestFile, 600);
  assert.ok(Number(probe.streams.find((s) => s.codec_type === 'video')?.nb_read_frames) > 30, JSON.stringify(probe));
});
