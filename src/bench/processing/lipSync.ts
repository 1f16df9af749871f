import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../node/config.js';
import { createNode } from '../../node/createNode.js';
import { createLogger } from '../../server/log.js';
import { call, pushSource, sleep, stopProcess, until } from './sources.js';

export interface LipSyncResult {
  /** Per marker: beep onset minus flash, ms (positive: sound late), in the host input as the server serves it and in the mix. */
  directOffsetMs: { p50: number; max: number; markers: number };
  mixOffsetMs: { p50: number; max: number; markers: number };
  /** Which input was stopped and resumed during the recording (SIGSTOP/SIGCONT), and how often. */
  drop: 'none' | 'host' | 'guest';
  drops: number;
}

export interface LipSyncOptions {
  seconds: number;
  fps: number;
  /** Stop this input's encoder for `dropMs` every `dropEveryS` while recording (default none). */
  drop?: 'none' | 'host' | 'guest';
  dropMs?: number;
  dropEveryS?: number;
}

/**
 * `tributary bench lipsync`: the mix's A/V offset, measured on decoded output. The host is a
 * real encoded source (x264 + AAC over RTMP) whose picture flashes white for 100 ms (a mix may skip
 * a picture) and whose sound beeps (1 kHz, 50 ms, sample-exact from aevalsrc) at the same instant once a second; a
 * guest (a red field, its tone at gain 0) is mixed in as an inset. Both the host stream as served and the mixed
 * output are recorded from HTTP-FLV (stream copy), and ffprobe reads each recording: the
 * flash's picture time (signalstats, the main area's mean luma) and the beep's onset (astats
 * over 1 ms chunks). Offset = onset - flash per marker; p50 and max of |offset|.
 * With `drop`, one input's encoder is stopped (SIGSTOP, as a stalled uplink) for `dropMs`
 * every `dropEveryS` while recording and then resumes with its backlog in a burst: the mix's
 * per-input audio FIFO and the compositor's picture timing both see the gap and the burst, so
 * an offset that moves across drops shows here (the host's markers inside a drop are lost).
 */
export async function runLipSync(o: LipSyncOptions, log: (l: string) => void = () => undefined): Promise<LipSyncResult> {
  const node = createNode(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const a = await node.server.start();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-lipsync-'));
  const host = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `color=c=black:size=640x360:rate=${o.fps},drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,0.1)'`,
    '-f', 'lavfi', '-i', "aevalsrc='if(lt(mod(t\\,1)\\,0.05)\\,0.5*sin(2*PI*1000*t)\\,0)':s=48000",
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(o.fps), '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k',
    '-f', 'flv', `rtmp://127.0.0.1:${a.rtmpPort}/live/host`], { stdio: ['ignore', 'ignore', 'pipe'] });
  host.stderr!.on('data', (d: Buffer) => log(`host: ${d.toString().trim()}`));
  const guest = pushSource(a.rtmpPort, 'live/guest', { size: '640x360', fps: o.fps, pattern: 'color=c=red', kbps: 300 });
  try {
    const reg = node.server.registry;
    await until('inputs', () => (reg.find('live', 'host')?.videoConfig && reg.find('live', 'guest')?.videoConfig ? true : undefined), 20_000);
    const r = await call(a.httpPort, 'POST', '/api/mixes', {
      id: 'sync', output: 'live/mix', width: 640, height: 360, fps: o.fps, kbps: 1500,
      inputs: [{ source: { stream: 'live/host' } }, { source: { stream: 'live/guest' }, gain: 0 }], layout: { type: 'pip', corner: 'bottom-right', size: 0.3 },
    });
    if (r.status !== 201) throw new Error(`mix refused: ${JSON.stringify(r.body)}`);
    await until('the mix', () => reg.find('live', 'mix')?.videoConfig, 20_000);
    await sleep(2000);
    const drop = o.drop ?? 'none';
    let drops = 0;
    const victim = drop === 'host' ? host : drop === 'guest' ? guest : undefined;
    const dropMs = o.dropMs ?? 500;
    const timer = victim
      ? setInterval(() => {
          victim.kill('SIGSTOP');
          drops++;
          setTimeout(() => victim.kill('SIGCONT'), dropMs);
        }, (o.dropEveryS ?? 3) * 1000)
      : undefined;
    // What each input's audio FIFO holds (the sound's lag behind the picture in the mix), once a second.
    const queues: string[] = [];
    const watch = setInterval(() => {
      void call(a.httpPort, 'GET', '/api/mixes/sync').then((r) => {
        const st = (r.body?.spec?.inputStates ?? []) as Array<{ audioQueuedMs?: number; audioSyncDroppedMs?: number }>;
        queues.push(st.map((x) => `${x.audioQueuedMs ?? '?'}(-${x.audioSyncDroppedMs ?? '?'})`).join('/'));
      }, () => undefined);
    }, 1000);
    const files = await Promise.all(['host', 'mix'].map((s) => record(`http://127.0.0.1:${a.httpPort}/live/${s}.flv`, join(dir, `${s}.flv`), o.seconds))).finally(() => {
      clearInterval(timer);
      clearInterval(watch);
      victim?.kill('SIGCONT');
    });
    const [direct, mix] = await Promise.all(files.map((f) => offsets(f)));
    log(`direct offsets ${direct.join(' ')}`);
    log(`mix offsets ${mix.join(' ')}`);
    log(`audio queued per input each second, ms (host/guest): ${queues.join(' ')}; job stats ${JSON.stringify((await call(a.httpPort, 'GET', '/api/mixes/sync')).body?.spec?.stats ?? {}, (k, v) => (k === 'stallStages' || k === 'slateAfterMs' ? undefined : v))}`);
    return { directOffsetMs: sum(direct), mixOffsetMs: sum(mix), drop, drops };
  } finally {
    await Promise.all([stopProcess(host), stopProcess(guest)]);
    await node.server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function sum(v: number[]): { p50: number; max: number; markers: number } {
  const abs = v.map(Math.abs).sort((x, y) => x - y);
  return { p50: abs.length ? abs[Math.floor(abs.length / 2)]! : -1, max: abs.length ? abs[abs.length - 1]! : -1, markers: v.length };
}

function record(url: string, file: string, seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', url, '-t', String(seconds), '-c', 'copy', '-y', file], { timeout: (seconds + 30) * 1000 }, (err) => (err ? reject(err) : resolve(file)));
  });
}

function probe(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ffprobe', ['-v', 'error', ...args], { maxBuffer: 64 << 20, timeout: 120_000 }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}

/** Flash times and beep onsets in a recording (seconds on its own timeline), paired: onset - flash, ms. */
export async function offsets(file: string): Promise<number[]> {
  // The main area only (the top left quarter: the inset sits bottom right).
  const v = await probe(['-f', 'lavfi', '-i', `movie=${file},crop=iw/2:ih/2:0:0,signalstats`, '-show_entries', 'frame=pts_time:frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0']);
  const flashes: number[] = [];
  let wasBright = false;
  for (const line of v.split('\n')) {
    const [t, y] = line.split(',').map(Number) as [number, number];
    if (!Number.isFinite(t) || !Number.isFinite(y)) continue;
    const bright = y > 128;
    if (bright && !wasBright) flashes.push(t);
    wasBright = bright;
  }
  const au = await probe(['-f', 'lavfi', '-i', `amovie=${file},asetnsamples=n=48:p=0,astats=metadata=1:reset=1`, '-show_entries', 'frame=pts_time:frame_tags=lavfi.astats.Overall.RMS_level', '-of', 'csv=p=0']);
  const onsets: number[] = [];
  let loudSince = -Infinity;
  for (const line of au.split('\n')) {
    const [ts, level] = line.split(',');
    const t = Number(ts);
    const db = level === '-inf' ? -Infinity : Number(level);
    if (!Number.isFinite(t)) continue;
    if (db > -30) {
      if (t - loudSince > 0.5) onsets.push(t);
      loudSince = t;
    }
  }
  const out: number[] = [];
  for (const f of flashes) {
    const near = onsets.reduce((b, x) => (Math.abs(x - f) < Math.abs(b - f) ? x : b), Infinity);
    if (Math.abs(near - f) < 0.45) out.push(Math.round((near - f) * 1000));
  }
  return out;
}
