import { parseConfig } from '../../node/config.js';
import { createNode } from '../../node/createNode.js';
import { createLogger } from '../../server/log.js';
import type { MixJob } from '../../processing/mix/MixJob.js';
import { layoutSlots } from '../../processing/mix/layout.js';
import { summarize } from '../percentiles.js';
import { chromaAt, call, decodeViewer, pushSource, sleep, stopProcess, until } from './sources.js';

export interface MixBenchOptions {
  size: string;
  fps: number;
  cycles: number;
  /** How long each drop lasts, ms. */
  dropMs: number;
  /** How long the input is back between drops, ms. */
  backMs: number;
  kbps: number;
  stallMs: number;
}

export interface MixBenchResult {
  addedDelayMs: { p50: number; p95: number };
  slateAfterMs: { max: number };
  outputGaps: number;
  dropCycles: number;
  mixesPerCore: number;
  /**
   * Where the time to the slate goes: per stage, ms after the guest was stopped (median / max over
   * the cycles): its last frame at the server, into the decoder, out of the decoder, the first
   * slate frame composed, published by the encoder, decoded at the viewer.
   */
  stages: Record<'arrived' | 'fed' | 'decoded' | 'composed' | 'published' | 'viewer', { p50: number; max: number }>;
  /** Where the gaps are: waits over 100 ms between two published mixed pictures, and late wake-ups of the compositor. */
  publishedGaps: number;
  /** Holes in the published output's timeline: a dts step over 1.5 frame intervals (0: one picture per interval). */
  dtsHoles: number;
  lateWakeups: number;
  /** The control: the same gaps counted at a second viewer that watches the host input directly (no mix between). */
  directViewerGaps: number;
}

/** Longer than this between two pictures at the viewer is an output gap (the issue's figure). */
const GAP_MS = 100;

/**
 * `tributary bench mix`: a real server, two live ffmpeg sources over RTMP (a test pattern as
 * the host, a red field as the guest), a two-input picture-in-picture mix made by the server,
 * and an ffmpeg viewer decoding the mixed HTTP-FLV. The guest is stopped (SIGSTOP: its
 * connection stays, its pictures stop, as a stalled uplink does) and resumed `cycles` times.
 *
 * - slateAfterMs: stop of the guest to the first decoded picture at the viewer with the slate
 *   (its colour) in the inset;
 * - outputGaps: times the viewer waited more than 100 ms for the next decoded picture;
 * - addedDelayMs: per mixed picture, the time it was published by the mix minus the time its
 *   host picture reached the server. The same input watched directly is published at that
 *   arrival, and a viewer decodes both the same way, so the difference is the mix's own
 *   delay (decode, composite, encode); it is measured at the server, not at the viewer;
 * - mixesPerCore: 1 / (cores the mix used: its ffmpeg processes from /proc, plus this whole
 *   Node process, which holds the compositor but also the server, the viewer's parsing and the
 *   bench itself, so the figure is a lower bound).
 */
export async function runMixBench(o: MixBenchOptions, log: (line: string) => void = () => undefined): Promise<MixBenchResult> {
  const [w, h] = o.size.split('x').map(Number) as [number, number];
  const node = createNode(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const { server } = node;
  const a = await server.start();
  const host = pushSource(a.rtmpPort, 'live/host', { size: o.size, fps: o.fps, pattern: 'testsrc2', kbps: 2500 });
  const guest = pushSource(a.rtmpPort, 'live/guest', { size: o.size, fps: o.fps, pattern: 'color=c=red', kbps: 500 });
  let viewer: ReturnType<typeof decodeViewer> | undefined;
  let direct: ReturnType<typeof decodeViewer> | undefined;
  try {
    await until('inputs', () => (server.registry.find('live', 'host')?.videoConfig && server.registry.find('live', 'guest')?.videoConfig ? true : undefined), 20_000);
    const r = await call(a.httpPort, 'POST', '/api/mixes', {
      id: 'bench', output: 'live/mix', width: w, height: h, fps: o.fps, kbps: o.kbps, stallMs: o.stallMs,
      inputs: [{ source: { stream: 'live/host' } }, { source: { stream: 'live/guest' } }], layout: { type: 'pip', corner: 'bottom-right', size: 0.3 },
    });
    if (r.status !== 201) throw new Error(`mix refused: ${JSON.stringify(r.body)}`);
    const job = node.processing.jobs.get('bench') as MixJob;
    const out = await until('the mix', () => (server.registry.find('live', 'mix')?.videoConfig ? server.registry.find('live', 'mix') : undefined), 20_000);
    const delays: number[] = [];
    let publishedAt = 0;
    let publishedGaps = 0;
    let dtsHoles = 0;
    let lastDts: number | undefined;
    out.on('frame', (f) => {
      if (f.kind !== 'video') return;
      const now = Date.now();
      if (measuring && publishedAt && now - publishedAt > GAP_MS) publishedGaps++;
      if (measuring && lastDts !== undefined && f.dts - lastDts > 1500 / o.fps) dtsHoles++;
      publishedAt = now;
      lastDts = f.dts;
      if (f.captureTime !== undefined) delays.push(now - f.captureTime);
    });
    let guestArrivedAt = 0;
    server.registry.find('live', 'guest')!.on('frame', (f) => {
      if (f.kind === 'video') guestArrivedAt = Date.now();
    });
    const stages: Record<keyof MixBenchResult['stages'], number[]> = { arrived: [], fed: [], decoded: [], composed: [], published: [], viewer: [] };
    // The viewer decodes at a small size (it only samples colours); the inset's centre is where pip puts it.
    const vw = 160;
    const vh = 90;
    const slot = layoutSlots({ type: 'pip', corner: 'bottom-right', size: 0.3 }, 2, 0, w, h)[1]!;
    const inset = [Math.round(((slot.x + slot.w / 2) * vw) / w), Math.round(((slot.y + slot.h / 2) * vh) / h)] as const;
    let last: { at: number; state: 'slate' | 'guest' | 'other' } | undefined;
    let prevAt = 0;
    let gaps = 0;
    let measuring = false;
    // The guest's last stop or resume, for the gap log.
    let phase = 'start';
    let phaseAt = Date.now();
    viewer = decodeViewer(`http://127.0.0.1:${a.httpPort}/live/mix.flv`, vw, vh, (d, at) => {
      const [u, v] = chromaAt(d, vw, vh, inset[0], inset[1]);
      const state = u > 200 && v < 140 ? 'slate' : v > 200 && u < 120 ? 'guest' : 'other';
      if (measuring && prevAt && at - prevAt > GAP_MS) {
        gaps++;
        // Where in the cycle the viewer waited: at a switch (slate in or out) or anywhere (CPU).
        log(`output gap ${at - prevAt} ms, from ${prevAt - phaseAt} ms after the guest's ${phase}; inset ${last?.state} -> ${state}`);
      }
      prevAt = at;
      last = { at, state };
    });
    let directGaps = 0;
    let directAt = 0;
    direct = decodeViewer(`http://127.0.0.1:${a.httpPort}/live/host.flv`, vw, vh, (_d, at) => {
      if (measuring && directAt && at - directAt > GAP_MS) directGaps++;
      directAt = at;
    });
    await until('the guest on the viewer', () => (last?.state === 'guest' ? true : undefined), 20_000);
    await sleep(2000);
    delays.length = 0;
    measuring = true;
    const wakeStart = job.stats.lateWakeups;
    const cpuStart = process.cpuUsage();
    const wallStart = Date.now();
    const jobCpu: number[] = [];
    const cpuTimer = setInterval(() => jobCpu.push(job.info().cpu), 1000);
    const slate: number[] = [];
    let cycles = 0;
    for (let c = 0; c < o.cycles; c++) {
      const stopAt = Date.now();
      phase = 'stop';
      phaseAt = stopAt;
      guest.kill('SIGSTOP');
      const seen = await until('the slate', () => (last && last.at >= stopAt && last.state === 'slate' ? last.at : undefined), 5000).catch(() => undefined);
      if (seen !== undefined) {
        slate.push(seen - stopAt);
        const st = job.stats.inputs[1]!.stallStages.at(-1);
        if (st && st.composedAt >= stopAt) {
          stages.arrived.push(guestArrivedAt - stopAt);
          stages.fed.push(st.lastFedAt - stopAt);
          stages.decoded.push(st.lastPictureAt - stopAt);
          stages.composed.push(st.composedAt - stopAt);
          if (st.publishedAt !== undefined) stages.published.push(st.publishedAt - stopAt);
          stages.viewer.push(seen - stopAt);
        }
      }
      await sleep(Math.max(0, o.dropMs - (Date.now() - stopAt)));
      const backAt = Date.now();
      phase = 'back';
      phaseAt = backAt;
      guest.kill('SIGCONT');
      await until('the guest back', () => (last && last.at >= backAt && last.state === 'guest' ? true : undefined), 5000).catch(() => undefined);
      await sleep(o.backMs);
      if (seen !== undefined) cycles++;
      const at = (k: keyof typeof stages) => stages[k].at(-1) ?? '-';
      log(`cycle ${c + 1}/${o.cycles}: slate ${seen === undefined ? 'not seen' : `${seen - stopAt} ms`} after the stall (arrived ${at('arrived')}, fed ${at('fed')}, decoded ${at('decoded')}, composed ${at('composed')}, published ${at('published')}), ${gaps} output gaps so far (${publishedGaps} published, ${job.stats.lateWakeups - wakeStart} late wake-ups)`);
    }
    clearInterval(cpuTimer);
    const wall = (Date.now() - wallStart) / 1000;
    const u = process.cpuUsage(cpuStart);
    const nodeCores = (u.user + u.system) / 1e6 / wall;
    const ffmpegCores = jobCpu.length ? jobCpu.reduce((x, y) => x + y, 0) / jobCpu.length : 0;
    const d = summarize(delays);
    return {
      addedDelayMs: { p50: d.p50, p95: d.p95 },
      slateAfterMs: { max: slate.length ? Math.max(...slate) : -1 },
      outputGaps: gaps,
      dropCycles: cycles,
      mixesPerCore: Math.round((1 / (nodeCores + ffmpegCores)) * 100) / 100,
      stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, v.length ? { p50: summarize(v).p50, max: Math.max(...v) } : { p50: -1, max: -1 }])) as MixBenchResult['stages'],
      publishedGaps,
      dtsHoles,
      directViewerGaps: directGaps,
      lateWakeups: job.stats.lateWakeups - wakeStart,
    };
  } finally {
    await Promise.all([stopProcess(viewer), stopProcess(direct)]);
    await Promise.all([stopProcess(host), stopProcess(guest)]);
    await server.close();
  }
}
