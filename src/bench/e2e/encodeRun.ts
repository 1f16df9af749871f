/**
 * `tributary bench e2e --encode`: the real encoder through the whole contribution path, in real
 * time on loopback. A generated picture (ffmpeg's testsrc2, 640x360 at 30 fps, and a tone) is
 * encoded by `tributary send --encode`'s ladder (EncoderInput), whose rung follows the
 * transport's target; the sender's UDP goes through the link emulator (one link, or one per
 * --link from 127.0.0.2, .3, ... for bonding) to a server in this process; the viewer is an
 * ffmpeg process decoding the server's HTTP-FLV, which logs every picture it decodes (showinfo).
 *
 * What is measured, and how:
 * - decodedRatio: pictures the viewer decoded / pictures the encoder produced (of the rung
 *   being sent), for pictures captured inside the measured window.
 * - latencyMs, capture to decode: the source is generated in real time (-re), so picture n is
 *   captured at t0 + dts(n); t0 is taken as the earliest (arrival at the sender - dts) over the
 *   run, so the encoder's smallest delay (a few ms at ultrafast) is not counted, and its larger
 *   delays are. Decode time is when the viewer's ffmpeg logs the picture. Only decoded pictures
 *   have a latency: lost ones count in decodedRatio instead.
 * - mediaKbps: bytes of the pictures the viewer decoded plus the audio sent, over the window.
 * - capacityKbps: the mean capacity the links' bottlenecks offered over the window.
 * - maxStallMs: the longest time between two pictures decoded by the viewer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EncoderInput } from '../../client/send/EncoderInput.js';
import { DEFAULT_LADDER_KBPS, encoderSource } from '../../client/send/encoderArgs.js';
import { Sender } from '../../client/send/Sender.js';
import type { LinkConfig } from '../../emulator/LinkConfig.js';
import { UdpLinkProxy } from '../../emulator/UdpLinkProxy.js';
import { Server } from '../../server/Server.js';
import { parseConfig } from '../../server/config.js';
import { createLogger } from '../../server/log.js';
import { summarize, type LatencySummary } from '../percentiles.js';
import { formatColumns } from '../table.js';
import { DEFAULTS, makeBottleneck, makeLinks, type BenchOptions } from '../transport/Options.js';
import type { Bottleneck } from '../../emulator/Bottleneck.js';
import { ccFactory, type CcName } from '../../transport/cc/select.js';

export interface E2eEncodeOptions extends Pick<BenchOptions, 'trace' | 'rate' | 'rtt' | 'jitter' | 'loss' | 'burst' | 'latency' | 'duration' | 'seed' | 'traceOffset'> {
  /** Bonded links: each a trace (a path or a name in ../shared/traces) or a rate in Mbit/s. */
  link?: string[];
  ladderKbps?: number[];
  fps?: number;
  size?: string;
  /** The transport's congestion controller (default: the session's own, 'delay'). */
  cc?: CcName;
  /** One line per second on stderr: the transport's target, the sending rate, the rung. */
  verbose?: boolean;
}

export interface E2eEncodeResult {
  output: 'ffmpeg (HTTP-FLV)';
  links: number;
  framesEncoded: number;
  framesDecoded: number;
  decodedRatio: number;
  /** Decoded within --latency of capture / encoded. */
  onTimeRatio: number;
  latencyMs: LatencySummary;
  mediaKbps: number;
  capacityKbps: number;
  capacityUsed: number;
  maxStallMs: number;
  /** Mean video bitrate the encoder produced (the rungs it sent), kbit/s. */
  encoderKbps: number;
  /** Mean transport target over the window, kbit/s. */
  targetKbps: number;
  /** Rung switches inside the window. */
  switches: number;
  /** Frames the sender dropped in the window (the transport's deadline/queue drops, or no session). */
  senderDropped: number;
  /** Lines of the viewer's decoder complaining (missing references, concealment). */
  decodeErrors: number;
  /** The first few of those lines, as logged: what to look at when the count is not 0. */
  decodeErrorLines: string[];
}

const WARMUP_MS = 4000;
const GRACE_MS = 2000;

interface Encoded {
  at: number;
  dts: number;
  bytes: number;
}

export async function runE2eEncode(o: E2eEncodeOptions): Promise<E2eEncodeResult> {
  const bench = { ...DEFAULTS, ...o };
  const fps = o.fps ?? 30;
  const specs = o.link?.length ? o.link : [undefined];
  const bonded = specs.length > 1;
  const bottlenecks: Array<Bottleneck | undefined> = specs.map((s) => makeBottleneck(s === undefined ? bench : /^[\d.]+$/.test(s) ? { ...bench, trace: undefined, rate: Number(s) } : { ...bench, trace: s, rate: undefined }));
  const links: Array<{ up: LinkConfig; down: LinkConfig }> = bottlenecks.map((b) => makeLinks(bench, b));
  const ips = specs.map((_, i) => (bonded ? `127.0.0.${i + 2}` : '127.0.0.1'));

  const server = new Server(parseConfig({ host: '127.0.0.1', httpPort: 0, rtmpPort: 0, transportPort: 0, srt: { port: 0 }, logLevel: 'silent' }), { logger: createLogger('silent') });
  const { httpPort, transportPort } = await server.start();
  const proxy = new UdpLinkProxy({
    target: { host: '127.0.0.1', port: transportPort }, up: links[0]!.up, down: links[0]!.down, seed: bench.seed,
    bySource: bonded ? Object.fromEntries(links.map((l, i) => [ips[i]!, l])) : undefined,
  });
  const proxyPort = await proxy.listen();

  const encoded: Encoded[] = [];
  let audioBytes = 0;
  const window = { from: Infinity, until: Infinity, perfFrom: 0, perfUntil: 0 };
  const size = o.size?.match(/^(\d+)x(\d+)$/) ?? ['', '640', '360'];
  const encoder = new EncoderInput({
    source: encoderSource(`testsrc2=size=${size[1]}x${size[2]}:rate=${fps}[out0];sine=frequency=440:sample_rate=48000[out1]`, { format: 'lavfi' }),
    ladderKbps: o.ladderKbps ?? DEFAULT_LADDER_KBPS, audioKbps: 64, fps,
    onSent: (out) => {
      if (out.type !== 'frame') return;
      const f = out.frame;
      if (f.kind === 'video') encoded.push({ at: Date.now(), dts: f.dts, bytes: f.data.length });
      else if (Date.now() >= window.from && Date.now() <= window.until) audioBytes += f.data.length;
    },
  });
  const targets: number[] = [];
  let sender: Sender | undefined;
  let viewer: Viewer | undefined;
  try {
    sender = await Sender.start({
      input: encoder, output: `tributary://127.0.0.1:${proxyPort}/live/e2e`, latencyMs: bench.latency,
      links: bonded ? ips : undefined, bond: bonded ? 'aggregate' : undefined,
      congestion: o.cc ? ccFactory(o.cc, { initialBps: encoder.startBitrateBps * 1.25 }) : undefined,
    });
    const deadline = Date.now() + 20_000;
    while (!server.registry.find('live', 'e2e')?.isLive) {
      if (Date.now() > deadline) throw new Error(`the sender did not publish within 20 s: ${sender.status().lastError ?? 'no error reported'}`);
      await sleep(50);
    }
    viewer = new Viewer(`http://127.0.0.1:${httpPort}/live/e2e.flv`);
    await sleep(WARMUP_MS);
    window.from = Date.now();
    window.perfFrom = performance.now();
    const switches0 = encoder.status().switches;
    const dropped0 = sender.status().framesDropped;
    const s = sender;
    const sample = setInterval(() => {
      targets.push(s.status().targetBps);
      if (o.verbose) console.error(JSON.stringify({ t: Date.now() - window.from, targetBps: s.status().targetBps, sendingBps: s.status().sendingBps, rung: encoder.status().rung, wanted: encoder.status().wantedRung }));
    }, 1000);
    await sleep(bench.duration * 1000);
    clearInterval(sample);
    window.until = Date.now();
    window.perfUntil = performance.now();
    const switches = encoder.status().switches - switches0;
    const senderDropped = sender.status().framesDropped - dropped0;
    await sleep(GRACE_MS);

    // Capture times: the source runs in real time from t0 (see the header).
    const t0 = Math.min(...encoded.map((e) => e.at - e.dts));
    const inWindow = encoded.filter((e) => t0 + e.dts >= window.from && t0 + e.dts <= window.until);
    const byMs = new Map(inWindow.map((e) => [Math.round(e.dts), e]));
    const delays: number[] = [];
    const decodedTimes: number[] = [];
    let decoded = 0;
    let onTime = 0;
    let videoBytes = 0;
    const seen = new Set<number>();
    for (const d of viewer.decoded) {
      const e = byMs.get(d.ptsMs) ?? byMs.get(d.ptsMs - 1) ?? byMs.get(d.ptsMs + 1);
      if (!e || seen.has(e.dts)) continue;
      seen.add(e.dts);
      decoded++;
      videoBytes += e.bytes;
      const delay = d.at - (t0 + e.dts);
      delays.push(delay);
      decodedTimes.push(d.at);
      if (delay <= bench.latency) onTime++;
    }
    let maxStall = 0;
    for (let i = 1; i < decodedTimes.length; i++) maxStall = Math.max(maxStall, decodedTimes[i]! - decodedTimes[i - 1]!);
    const ms = window.until - window.from;
    const capacityBps = bottlenecks.reduce((sum, b) => sum + (b ? b.meanBpsBetween(window.perfFrom, window.perfUntil) : 0), 0);
    const mediaKbps = Math.round(((videoBytes + audioBytes) * 8) / ms);
    const capacityKbps = Math.round(capacityBps / 1000);
    const encodedBytes = inWindow.reduce((n, e) => n + e.bytes, 0);
    return {
      output: 'ffmpeg (HTTP-FLV)',
      links: specs.length,
      framesEncoded: inWindow.length,
      framesDecoded: decoded,
      decodedRatio: inWindow.length ? r4(decoded / inWindow.length) : 0,
      onTimeRatio: inWindow.length ? r4(onTime / inWindow.length) : 0,
      latencyMs: summarize(delays),
      mediaKbps,
      capacityKbps,
      capacityUsed: capacityKbps ? r4(mediaKbps / capacityKbps) : 0,
      maxStallMs: Math.round(maxStall),
      encoderKbps: Math.round((encodedBytes * 8) / ms),
      targetKbps: Math.round(targets.reduce((a, b) => a + b, 0) / Math.max(1, targets.length) / 1000),
      switches,
      senderDropped,
      decodeErrors: viewer.errors,
      decodeErrorLines: viewer.errorLines,
    };
  } finally {
    await viewer?.close();
    await sender?.close();
    proxy.close();
    await server.close();
  }
}

/** ffmpeg decoding the server's HTTP-FLV; each decoded picture's pts (ms, the sender's timeline: -copyts) and when it was logged. */
class Viewer {
  readonly decoded: Array<{ ptsMs: number; at: number }> = [];
  errors = 0;
  readonly errorLines: string[] = [];
  private readonly proc: ChildProcess;
  private tail = '';

  constructor(url: string) {
    this.proc = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'info', '-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '200000', '-analyzeduration', '1000000',
      '-copyts', '-i', url, '-map', '0:v:0', '-vf', 'showinfo', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => {
      const at = Date.now();
      const lines = (this.tail + d.toString()).split('\n');
      this.tail = lines.pop() ?? '';
      if (this.tail.length > 10_000) this.tail = '';
      for (const l of lines) {
        const m = /Parsed_showinfo.*\bpts_time:\s*(-?[\d.]+)/.exec(l);
        if (m) this.decoded.push({ ptsMs: Math.round(Number(m[1]) * 1000), at });
        else if (/error|concealing|corrupt|non-existing|missing/i.test(l)) {
          this.errors++;
          if (this.errorLines.length < 5) this.errorLines.push(l.slice(0, 300));
        }
      }
    });
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await gone;
  }
}

export function formatE2eEncode(r: E2eEncodeResult): string {
  const rows: Array<[string, (r: E2eEncodeResult) => string]> = [
    ['pictures decoded / encoded', (x) => `${x.framesDecoded}/${x.framesEncoded} (${x.decodedRatio})`],
    ['decoded within the deadline', (x) => String(x.onTimeRatio)],
    ['capture to decode p50/p95/p99/max ms', (x) => `${x.latencyMs.p50}/${x.latencyMs.p95}/${x.latencyMs.p99}/${x.latencyMs.max}`],
    ['media kbit/s (of capacity)', (x) => `${x.mediaKbps} (${x.capacityKbps ? x.capacityUsed : '-'})`],
    ['capacity kbit/s', (x) => (x.capacityKbps ? String(x.capacityKbps) : 'unlimited')],
    ['encoder kbit/s, target kbit/s', (x) => `${x.encoderKbps}, ${x.targetKbps}`],
    ['rung switches', (x) => String(x.switches)],
    ['frames dropped by the sender', (x) => String(x.senderDropped)],
    ['longest gap between decoded pictures ms', (x) => String(x.maxStallMs)],
    ['decoder complaints', (x) => String(x.decodeErrors)],
  ];
  return formatColumns([r.output], [r], rows);
}

function r4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
