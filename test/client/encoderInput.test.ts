import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodecConfig, MediaFrame } from '../../src/media/frame.js';
import { configTag, flvHeader, frameTag } from '../../src/media/flv/FlvMuxer.js';
import { EncoderInput } from '../../src/client/send/EncoderInput.js';
import { encoderSource } from '../../src/client/send/encoderArgs.js';
import { requireBinary } from '../media/mp4/source.js';

const FPS = 30;
const PATTERN = `testsrc2=size=640x360:rate=${FPS}[out0];sine=frequency=440:sample_rate=48000[out1]`;

interface Sent {
  at: number;
  rung: number;
  frame: MediaFrame;
}

/** Runs the ladder on a live test pattern and records what it sends (the frames the sender would carry). */
async function run(ladderKbps: number[], script: (enc: EncoderInput, t0: number) => Promise<void>): Promise<{ sent: Sent[]; configs: CodecConfig[]; logs: string[]; ended: string | undefined; enc: EncoderInput }> {
  requireBinary('ffmpeg');
  const sent: Sent[] = [];
  const configs: CodecConfig[] = [];
  const logs: string[] = [];
  let ended: string | undefined;
  const enc = new EncoderInput({
    source: encoderSource(PATTERN, { format: 'lavfi' }), ladderKbps, audioKbps: 64, fps: FPS, log: (l) => logs.push(l),
    onSent: (o, rung) => {
      if (o.type === 'frame') sent.push({ at: Date.now(), rung, frame: o.frame });
    },
  });
  await enc.start({ config: (c) => configs.push(c), metadata: () => undefined, frame: () => undefined, end: (r) => (ended = r) });
  const t0 = Date.now();
  try {
    await script(enc, t0);
  } finally {
    await enc.close();
  }
  return { sent, configs, logs, ended, enc };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sent frames as one FLV file, decoded by ffmpeg: the pictures it decoded, in order, and what it complained about. */
function decode(sent: Sent[], configs: CodecConfig[]): { pts: number[]; errors: string } {
  const dir = mkdtempSync(join(tmpdir(), 'enc-'));
  try {
    const parts = [flvHeader(true, true)];
    const v = configs.find((c) => c.kind === 'video')!;
    const a = configs.find((c) => c.kind === 'audio')!;
    parts.push(configTag(v), configTag(a));
    for (const s of sent) parts.push(frameTag(s.frame));
    const file = join(dir, 'out.flv');
    writeFileSync(file, Buffer.concat(parts));
    const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=pts', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    return { pts: r.stdout.trim().split('\n').filter(Boolean).map(Number), errors: r.stderr.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function videoOf(sent: Sent[]): Sent[] {
  return sent.filter((s) => s.frame.kind === 'video');
}

/** Every sent picture is the next frame of the source: no gap, no duplicate (dts steps of one frame interval). */
function assertContinuous(v: Sent[]): void {
  for (let i = 1; i < v.length; i++) {
    const step = v[i]!.frame.dts - v[i - 1]!.frame.dts;
    assert.ok(step > 1000 / FPS - 3 && step < 1000 / FPS + 3, `frame ${i}: dts step ${step} ms (${v[i - 1]!.frame.dts} -> ${v[i]!.frame.dts})`);
  }
}

test('the ladder follows the target within about a second, both ways, and the sent rendition decodes without a missing picture', { timeout: 60_000 }, async () => {
  let upAt = 0;
  let downAt = 0;
  const { sent, configs } = await run([300, 1500], async (enc) => {
    await sleep(3000);
    upAt = Date.now();
    enc.followTarget(3_000_000);
    await sleep(4000);
    downAt = Date.now();
    enc.followTarget(500_000);
    await sleep(3000);
  });
  const v = videoOf(sent);
  assert.ok(v.length > 200, `${v.length} pictures in 10 s`);
  assert.equal(v[0]!.rung, 0);
  assert.ok(v[0]!.frame.keyframe);
  const up = v.find((s) => s.at >= upAt && s.rung === 1)!;
  const down = v.find((s) => s.at >= downAt && s.rung === 0)!;
  assert.ok(up && up.frame.keyframe, 'the switch up starts at a keyframe of the new rung');
  assert.ok(down && down.frame.keyframe, 'the switch down starts at a keyframe of the new rung');
  assert.ok(up.at - upAt <= 1200, `followed the target up in ${up.at - upAt} ms`);
  assert.ok(down.at - downAt <= 1200, `followed the target down in ${down.at - downAt} ms`);
  // The rate of each stretch, from the pictures' own timeline.
  const rate = (from: Sent, until: Sent) => {
    const part = v.filter((s) => s.frame.dts >= from.frame.dts && s.frame.dts < until.frame.dts);
    return part.reduce((n, s) => n + s.frame.data.length, 0) * 8 / (until.frame.dts - from.frame.dts);
  };
  const highKbps = rate(up, down);
  const lowKbps = rate(v[0]!, up);
  console.log(`up in ${up.at - upAt} ms, down in ${down.at - downAt} ms; low rung ${lowKbps.toFixed(0)} kbit/s, high rung ${highKbps.toFixed(0)} kbit/s`);
  assert.ok(lowKbps > 150 && lowKbps < 450, `low rung ${lowKbps} kbit/s for 300`);
  assert.ok(highKbps > 1000 && highKbps < 1900, `high rung ${highKbps} kbit/s for 1500`);
  assertContinuous(v);
  const d = decode(sent, configs);
  assert.equal(d.errors, '', 'ffprobe decodes every picture without an error');
  assert.equal(d.pts.length, v.length, 'every picture sent is decoded');
  assert.ok(sent.some((s) => s.frame.kind === 'audio'), 'audio is carried');
});

test('the encoder killed mid-stream is restarted with a status line, and the stream continues from its next keyframe on the same timeline', { timeout: 60_000 }, async () => {
  let killedAt = 0;
  const { sent, configs, logs, enc, ended } = await run([300, 800], async (enc) => {
    await sleep(3000);
    const pid = enc.process!.pid;
    killedAt = Date.now();
    enc.process!.kill('SIGKILL');
    await sleep(3500);
    assert.notEqual(enc.process?.pid, pid, 'a new encoder process runs');
  });
  assert.equal(ended, undefined);
  assert.equal(enc.status().starts, 2);
  assert.ok(logs.some((l) => /encoder exited \(SIGKILL\); restarting/.test(l)), logs.join('\n'));
  const v = videoOf(sent);
  const before = v.filter((s) => s.at < killedAt);
  const after = v.filter((s) => s.at > killedAt + 100);
  assert.ok(before.length > 40 && after.length > 40, `${before.length} pictures before the kill, ${after.length} after`);
  assert.ok(after[0]!.frame.keyframe, 'the new process starts at a keyframe');
  const jump = after[0]!.frame.dts - before[before.length - 1]!.frame.dts;
  assert.ok(jump > 0 && jump < 100, `the timeline continues (${jump} ms of dts between the two processes)`);
  const gap = after[0]!.at - killedAt;
  console.log(`video resumed ${gap} ms after the kill`);
  assert.ok(gap < 3000, `video resumed ${gap} ms after the kill`);
  for (let i = 1; i < v.length; i++) assert.ok(v[i]!.frame.dts > v[i - 1]!.frame.dts, 'dts keep rising across the restart');
  const d = decode(sent, configs);
  assert.equal(d.errors, '', 'the whole output decodes');
  assert.equal(d.pts.length, v.length);
});

test('an input ffmpeg cannot open ends the sender with ffmpeg\'s error after three tries', { timeout: 30_000 }, async () => {
  requireBinary('ffmpeg');
  let ended: string | undefined;
  const logs: string[] = [];
  const enc = new EncoderInput({ source: encoderSource('/nonexistent/clip.mp4'), ladderKbps: [300], audioKbps: 64, fps: FPS, restartDelayMs: 50, log: (l) => logs.push(l) });
  await enc.start({ config: () => undefined, metadata: () => undefined, frame: () => undefined, end: (r) => (ended = r) });
  const until = Date.now() + 20_000;
  while (ended === undefined && Date.now() < until) await sleep(50);
  await enc.close();
  assert.match(ended ?? '', /failed 3 times without a frame: .*No such file/);
  assert.equal(logs.filter((l) => /restarting/.test(l)).length, 2);
});
