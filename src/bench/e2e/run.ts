/**
 * `tributary bench e2e`: the contribution path end to end on loopback, in real time. A synthetic
 * live source (the transport bench's, each frame's id in its payload) feeds the sender; the
 * sender's UDP goes through the link emulator's proxy to a server in this process; one viewer
 * reads HTTP-FLV and one reads `tributary play`. Per output: the delay from a frame's entry into
 * the sender to its arrival at the viewer, frames on time, the longest gap in delivered video,
 * and the bytes the sender put on the emulated link.
 */
import { UdpLinkProxy } from '../../emulator/UdpLinkProxy.js';
import type { MediaSink, MediaInput } from '../../client/send/inputs.js';
import { Sender } from '../../client/send/Sender.js';
import { Player } from '../../client/play/Player.js';
import { Server } from '../../server/Server.js';
import { parseConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { summarize, type LatencySummary } from '../percentiles.js';
import { formatColumns } from '../table.js';
import { FlvViewer } from '../fanout/viewers.js';
import { AUDIO_CONFIG, frameId, makeSource, toMediaFrame, VIDEO_CONFIG } from '../fanout/stream.js';
import { DEFAULTS, makeBottleneck, makeLinks, type BenchOptions } from '../transport/Options.js';

export type E2eOptions = Pick<BenchOptions, 'trace' | 'rate' | 'rtt' | 'jitter' | 'loss' | 'burst' | 'bitrate' | 'latency' | 'duration' | 'seed' | 'traceOffset' | 'json'>;

export const E2E_DEFAULTS: E2eOptions = { ...DEFAULTS, duration: 20 };

interface KindCount {
  sent: number;
  onTime: number;
  onTimeRatio: number;
}

export interface E2eResult {
  output: 'play' | 'http-flv';
  latencyMs: LatencySummary;
  video: KindCount;
  audio: KindCount;
  maxStallMs: number;
  /** The frame that ended the longest gap was a keyframe (about 8x a P frame: its wire time is part of the gap). */
  maxStallEndsOnKeyframe: boolean;
  wireKbps: number;
}

const WARMUP_MS = 2000;
const GRACE_MS = 1500;

/** Emits the synthetic source in real time and records when each frame entered the sender. */
class SyntheticInput implements MediaInput {
  readonly describe = 'synthetic source';
  readonly sent = new Map<number, { at: number; kind: 'video' | 'audio'; keyframe: boolean }>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly bitrateBps: number, private readonly seed: number) {}
  async start(sink: MediaSink): Promise<void> {
    sink.config(VIDEO_CONFIG);
    sink.config(AUDIO_CONFIG);
    const source = makeSource(this.bitrateBps, this.seed);
    const t0 = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const f of source.take(now - t0)) {
        this.sent.set(f.id, { at: now, kind: f.kind, keyframe: f.keyframe });
        sink.frame({ ...toMediaFrame(f), captureTime: Date.now() });
      }
    }, 2);
  }
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }
}

class Tally {
  readonly delays: number[] = [];
  private readonly got = new Set<number>();
  private readonly onTime = { video: 0, audio: 0 };
  private lastVideoAt: number | undefined;
  maxStallMs = 0;
  maxStallKeyframe = false;
  constructor(private readonly input: SyntheticInput, private readonly window: { from: number; until: number }, private readonly latencyMs: number) {}

  arrive(id: number, at: number): void {
    const s = this.input.sent.get(id);
    if (!s || s.at < this.window.from || s.at > this.window.until || this.got.has(id)) return;
    this.got.add(id);
    const d = at - s.at;
    this.delays.push(d);
    if (d <= this.latencyMs) this.onTime[s.kind]++;
    if (s.kind === 'video') {
      if (this.lastVideoAt !== undefined && at - this.lastVideoAt > this.maxStallMs) {
        this.maxStallMs = at - this.lastVideoAt;
        this.maxStallKeyframe = s.keyframe;
      }
      this.lastVideoAt = at;
    }
  }

  result(output: E2eResult['output'], wireKbps: number): E2eResult {
    const sent = { video: 0, audio: 0 };
    for (const s of this.input.sent.values()) if (s.at >= this.window.from && s.at <= this.window.until) sent[s.kind]++;
    const kind = (k: 'video' | 'audio'): KindCount => ({ sent: sent[k], onTime: this.onTime[k], onTimeRatio: sent[k] ? Math.round((this.onTime[k] / sent[k]) * 1e4) / 1e4 : 0 });
    return { output, latencyMs: summarize(this.delays), video: kind('video'), audio: kind('audio'), maxStallMs: Math.round(this.maxStallMs), maxStallEndsOnKeyframe: this.maxStallKeyframe, wireKbps };
  }
}

export async function runE2e(o: E2eOptions): Promise<E2eResult[]> {
  const bench = { ...DEFAULTS, ...o };
  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const { httpPort, transportPort } = await server.start();
  const links = makeLinks(bench, makeBottleneck(bench));
  const proxy = new UdpLinkProxy({ target: { host: '127.0.0.1', port: transportPort }, up: links.up, down: links.down, seed: bench.seed });
  const proxyPort = await proxy.listen();
  const input = new SyntheticInput(bench.bitrate * 1e6, bench.seed);
  const window = { from: Infinity, until: Infinity };
  const play = new Tally(input, window, bench.latency);
  const flv = new Tally(input, window, bench.latency);
  let sender: Sender | undefined;
  let player: Player | undefined;
  let viewer: FlvViewer | undefined;
  try {
    sender = await Sender.start({ input, output: `tributary://127.0.0.1:${proxyPort}/live/e2e`, latencyMs: bench.latency });
    const deadline = Date.now() + 15_000;
    while (!server.registry.find('live', 'e2e')?.isLive) {
      if (Date.now() > deadline) throw new Error(`the sender did not publish within 15 s: ${sender.status().lastError ?? 'no error reported'}`);
      await sleep(50);
    }
    player = await Player.start(`tributary://127.0.0.1:${transportPort}/live/e2e`, {
      format: 'flv',
      write: () => true,
      onFrame: (f) => {
        const id = frameId(f);
        if (id !== undefined) play.arrive(id, performance.now());
      },
    });
    viewer = new FlvViewer(`http://127.0.0.1:${httpPort}/live/e2e.flv`, () => undefined, { from: 0, until: 0 }, (id, _kind, at) => flv.arrive(id, at));
    await sleep(WARMUP_MS);
    const bytes0 = proxy.upLink.stats.offeredBytes;
    window.from = performance.now();
    await sleep(bench.duration * 1000);
    window.until = performance.now();
    const wireKbps = Math.round(((proxy.upLink.stats.offeredBytes - bytes0) * 8) / (window.until - window.from));
    await sleep(GRACE_MS);
    return [play.result('play', wireKbps), flv.result('http-flv', wireKbps)];
  } finally {
    viewer?.close();
    await player?.close();
    await sender?.close();
    proxy.close();
    await server.close();
  }
}

export function formatE2e(results: E2eResult[]): string {
  const rows: Array<[string, (r: E2eResult) => string]> = [
    ['delay p50/p95/p99/max ms', (r) => `${r.latencyMs.p50}/${r.latencyMs.p95}/${r.latencyMs.p99}/${r.latencyMs.max}`],
    ['video on time', (r) => `${r.video.onTime}/${r.video.sent} (${r.video.onTimeRatio})`],
    ['audio on time', (r) => `${r.audio.onTime}/${r.audio.sent} (${r.audio.onTimeRatio})`],
    ['longest video gap ms', (r) => `${r.maxStallMs}${r.maxStallEndsOnKeyframe ? ' (ends on a keyframe)' : ''}`],
    ['sender wire kbit/s', (r) => String(r.wireKbps)],
  ];
  return formatColumns(results.map((r) => r.output), results, rows);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
