import type { DemuxOutput } from '../../media/frame.js';
import { FlvDemuxer } from '../../media/flv/FlvDemuxer.js';
import { parseConfig } from '../../node/config.js';
import { createNode } from '../../node/createNode.js';
import { createLogger } from '../../server/log.js';
import { summarize } from '../percentiles.js';
import { hlsjsSwitch } from './hlsjsViewer.js';
import { slowLinkViewer } from './slowLinkViewer.js';
import { pushSource, sleep, stopProcess, until } from './sources.js';

export interface LadderBenchOptions {
  size: string;
  fps: number;
  /** Renditions as "HEIGHT:KBPS,..." best first. */
  ladder: string;
  /** The viewer's link before and after the cut, kbit/s. */
  fastKbps: number;
  cutKbps: number;
  /** Seconds before the cut and after it. */
  beforeS: number;
  afterS: number;
  /** Which players to measure, one after the other on the same server (default both). */
  players?: Array<'flv' | 'hlsjs'>;
}

export interface LadderBenchResult {
  player: 'flv' | 'hlsjs';
  addedDelayMs: { p50: number };
  switchDownMs: { max: number };
  stallsOnSwitch: number;
  renditionsPerCore: number;
}

/** A wait longer than this for the next picture at the viewer is a stall (the issue's figure). */
const STALL_MS = 500;
/** What a rendition needs on the link on top of its video rate: audio (the source's 64 kbit/s copied) and FLV framing. */
const OVERHEAD_KBPS = 80;

/**
 * `tributary bench ladder` (FLV player): a real server with a ladder in its config, a live
 * ffmpeg source (test pattern with noise, so the top rendition runs at its rate) over RTMP,
 * and a `?quality=auto` HTTP-FLV viewer behind a slow link (slowLinkViewer: a small receive
 * window, a read rate) that is cut from `fastKbps` to `cutKbps` mid-stream.
 *
 * - switchDownMs: the cut to the first sequence header of a rendition the cut link carries,
 *   at the viewer;
 * - stallsOnSwitch: waits over 500 ms between two pictures at the viewer after the cut;
 * - addedDelayMs: per rendition frame, when the ladder published it minus when its source
 *   frame reached the server (measured at the server, as in bench mix);
 * - renditionsPerCore: renditions / cores the ladder's ffmpeg used (/proc).
 *
 * - hls.js (the second player): the player page over LL-HLS in Chromium, its network throttled
 *   by the DevTools protocol from `fastKbps` to `cutKbps` once it plays the top rendition
 *   (hlsjsViewer.ts); switchDownMs and stallsOnSwitch from the page's video element.
 * addedDelayMs and renditionsPerCore are the ladder's, measured over each player's run.
 */
export async function runLadderBench(o: LadderBenchOptions, log: (line: string) => void = () => undefined): Promise<LadderBenchResult[]> {
  const rungs = o.ladder.split(',').map((r, i) => {
    const [height, kbps] = r.split(':').map(Number) as [number, number];
    return { name: `r${i}`, height, kbps };
  });
  const node = createNode(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent', apps: { live: { ladder: rungs } } }), { logger: createLogger('silent') });
  const { server } = node;
  const a = await server.start();
  const topKbps = rungs[0]!.kbps;
  const src = pushSource(a.rtmpPort, 'live/cam', { size: o.size, fps: o.fps, pattern: 'testsrc2', filter: 'noise=alls=20:allf=t', kbps: topKbps * 2 });
  let viewer: ReturnType<typeof slowLinkViewer> | undefined;
  const players = o.players ?? ['flv', 'hlsjs'];
  const results: LadderBenchResult[] = [];
  try {
    await until('the renditions', () => (rungs.every((r) => server.registry.find('live', `cam_${r.name}`)?.videoConfig) ? true : undefined), 30_000);
    const delays: number[] = [];
    for (const r of rungs) {
      server.registry.find('live', `cam_${r.name}`)!.on('frame', (f) => {
        if (f.kind === 'video' && f.captureTime !== undefined) delays.push(Date.now() - f.captureTime);
      });
    }
    const carried = new Set(rungs.filter((r) => r.kbps + OVERHEAD_KBPS <= o.cutKbps).map((r) => r.height));
    const job = node.processing.jobs.list(['ladder'])[0]!;
    /** The ladder's figures over one player's run. */
    const measure = async <T>(run: () => Promise<T>): Promise<T & { addedDelayMs: { p50: number }; renditionsPerCore: number }> => {
      delays.length = 0;
      const cpu: number[] = [];
      const timer = setInterval(() => cpu.push(node.processing.jobs.get(job.id).info().cpu), 1000);
      try {
        const r = await run();
        const cores = cpu.length ? cpu.reduce((x, y) => x + y, 0) / cpu.length : 0;
        return { ...r, addedDelayMs: { p50: summarize(delays).p50 }, renditionsPerCore: cores > 0 ? Math.round((rungs.length / cores) * 10) / 10 : 0 };
      } finally {
        clearInterval(timer);
      }
    };
    if (players.includes('flv')) results.push(await measure(() => flvRun()));
    if (players.includes('hlsjs')) {
      const r = await measure(() => hlsjsSwitch(`http://127.0.0.1:${a.httpPort}/play/live/cam?proto=ll-hls`, { ...o, topHeight: rungs[0]!.height, carried }, log));
      log(`hls.js heights before the cut ${r.heightsBefore}, after ${r.heightsAfter}`);
      results.push({ player: 'hlsjs', addedDelayMs: r.addedDelayMs, switchDownMs: { max: r.switchDownMs }, stallsOnSwitch: r.stallsOnSwitch, renditionsPerCore: r.renditionsPerCore });
    }
    return results;
  } finally {
    viewer?.close();
    await stopProcess(src);
    await server.close();
  }

  /** The FLV player: a `?quality=auto` viewer behind the slow link, cut after `beforeS`. */
  async function flvRun(): Promise<LadderBenchResult> {
    const demuxer = new FlvDemuxer();
    let cutAt = Infinity;
    let onCarried: number | undefined;
    let lastPicture = 0;
    let stalls = 0;
    /** Where the time goes: each video header's arrival at the viewer, and the server's queue for it. */
    const arrivals: string[] = [];
    const queue: string[] = [];
    const carried = new Set(rungs.filter((r) => r.kbps + OVERHEAD_KBPS <= o.cutKbps).map((r) => r.height));
    viewer = slowLinkViewer(a.httpPort, '/live/cam.flv?quality=auto', o.fastKbps * 1000, (c) => {
      const now = Date.now();
      let outs: DemuxOutput[];
      try {
        outs = demuxer.push(new Uint8Array(c));
      } catch {
        return;
      }
      for (const out of outs) {
        if (out.type === 'config' && out.config.kind === 'video' && now >= cutAt) arrivals.push(`${out.config.height}p at +${now - cutAt}`);
        if (out.type === 'config' && out.config.kind === 'video' && now >= cutAt && onCarried === undefined && carried.has(out.config.height ?? -1)) onCarried = now;
        if (out.type === 'frame' && out.frame.kind === 'video') {
          if (now >= cutAt && lastPicture && now - lastPicture > STALL_MS) {
            stalls++;
            arrivals.push(`stall ${now - lastPicture} ms to +${now - cutAt}`);
          }
          lastPicture = now;
        }
      }
    });
    await sleep(o.beforeS * 1000);
    const auto = [...node.processing.autos].at(-1);
    const before = auto?.switches.length ?? 0;
    cutAt = Date.now();
    viewer.setRate(o.cutKbps * 1000);
    log(`cut the viewer's link to ${o.cutKbps} kbit/s`);
    const tracer = setInterval(() => {
      const q = auto?.lastSample;
      if (q && queue.length < 40) queue.push(`+${Date.now() - cutAt}:${Math.round(q.pendingBytes / 1024)}K${q.capacityBps === undefined ? '' : `@${Math.round(q.capacityBps / 1000)}k`}`);
    }, 250);
    await sleep(o.afterS * 1000);
    clearInterval(tracer);
    viewer.close();
    viewer = undefined;
    for (const sw of auto?.switches.slice(before) ?? []) log(`flv: ${sw.from}->${sw.to} decided +${sw.decidedAt - cutAt}, at the keyframe +${sw.at - cutAt}, ${Math.round(sw.aheadBytes / 1024)} KiB queued ahead of it`);
    log(`flv: at the viewer (video headers, stalls) ${arrivals.join(', ')}`);
    log(`flv: the viewer's queue (ms after the cut: KiB, drain rate) ${queue.join(' ')}`);
    return { player: 'flv', addedDelayMs: { p50: 0 }, switchDownMs: { max: onCarried === undefined ? -1 : onCarried - cutAt }, stallsOnSwitch: stalls, renditionsPerCore: 0 };
  }
}
