/**
 * `tributary send`: one input (the encoder's side) carried to a server over the transport.
 * The input stays open whatever the network does: while the session is down, frames are dropped
 * and counted, reconnection runs with exponential backoff, and a new session starts with the
 * metadata and configs, then video from the next keyframe. With `alternates` (more addresses
 * of the same stream, `tributary send --server`), a server that dies (nothing from it for
 * `deadAfterMs`, or the session lost) is left for the next address at once.
 */
import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { encodeConfig, encodeFrame, encodeMetadata, encodeReport, encodeText, parseTributaryUrl, type TributaryUrl } from '../../media/tributary/index.js';
import type { EncryptionMode, PathStats } from '../../transport/api.js';
import type { BondMode } from '../../transport/Bonding.js';
import { connectMedia, MediaRefusedError, type ConnectMediaOptions, type MediaConnection } from '../connectMedia.js';
import { openInput, type MediaInput } from './inputs.js';

export interface SenderOptions {
  input: string | MediaInput;
  output: string;
  /** Delivery deadline of each frame, ms from its capture (default 600). */
  latencyMs?: number;
  encryption?: EncryptionMode;
  /** Force the TCP fallback. */
  tcp?: boolean;
  links?: string[];
  /** With several links: aggregate, redundant or auto (default aggregate); one link: single. */
  bond?: BondMode;
  loop?: boolean;
  /** Human-readable events (connected, lost, refused, retrying). */
  log?: (line: string) => void;
  /** Known-hosts file for trust on first use of the server key when the URL has no fp= (default: none; the CLI passes one). */
  knownHosts?: string;
  /** Replaces the transport's congestion controller (benches compare controllers). */
  congestion?: ConnectMediaOptions['congestion'];
  /** Other servers' addresses of the same stream, tried in turn after `output` when a server dies. */
  alternates?: string[];
  /** With alternates: a server from which nothing (media acks, pings) came for this long is taken for dead, ms (default 1500). */
  deadAfterMs?: number;
  /** Backoff bounds, ms (defaults 500 and 10000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export type SenderState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface SenderStatus {
  state: SenderState;
  input: string;
  server: string;
  transport: 'udp' | 'tcp' | '-';
  rttMs: number;
  lossBeforeRepair: number;
  lossAfterRepair: number;
  /** Shares of packets sent that were FEC repairs and retransmissions. */
  fecShare: number;
  retransmitShare: number;
  sendingBps: number;
  targetBps: number;
  /** Media bit/s arriving from the input (the encoder's rate). */
  inputBps: number;
  /**
   * Set when a fixed-rate input sends more than the uplink carries: the transport sheds frames
   * (the encoder does not follow), and this says what the uplink can carry.
   */
  rateWarning: string | undefined;
  mtu: number;
  framesIn: number;
  framesSent: number;
  /** Frames dropped: by the transport (deadline/queue) and while no session was up. */
  framesDropped: number;
  reconnects: number;
  lastError: string | undefined;
  bond: BondMode;
  /** One row per link (path) of the session. */
  links: LinkStatus[];
}

export interface LinkStatus {
  link: string;
  state: PathStats['state'];
  rttMs: number;
  loss: number;
  /** Share of the media packets of the last second. */
  share: number;
  sendingBps: number;
  targetBps: number;
  /** The link's congestion controller ('delay-loss' or 'capacity': `send --cc`). */
  controller: string;
}

/** How often an encoding input is told the target: well inside the one second it has to follow. */
const FOLLOW_MS = 200;
/** How often the server is told this side's figures (its dashboard samples once a second). */
const REPORT_MS = 1000;
/** How often a sender with alternates checks that its server still answers. */
const WATCH_MS = 100;

export class Sender {
  private conn: MediaConnection | undefined;
  private readonly urls: TributaryUrl[];
  /** Which of `urls` the sender publishes to (or tries next). */
  private current = 0;
  private watchTimer: NodeJS.Timeout | undefined;
  private heard = { packets: 0, at: 0, checkedAt: 0 };
  private readonly input: MediaInput;
  private video: CodecConfig | undefined;
  private audio: CodecConfig | undefined;
  private metadata: Record<string, unknown> | undefined;
  private waitingKeyframe = true;
  private state: SenderState = 'connecting';
  private closed = false;
  private backoff: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private counts = { framesIn: 0, framesSent: 0, droppedOffline: 0, droppedByTransport: 0, reconnects: 0 };
  private sentBytes = 0;
  private inputBytes = 0;
  private rate = { at: Date.now(), bytes: 0, bps: 0, inBytes: 0, inBps: 0 };
  /** Since when the input's rate has been above the target (a fixed-rate input on a short uplink). */
  private overSince: number | undefined;
  private followTimer: NodeJS.Timeout | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private readonly shedHistory: Array<{ at: number; sent: number; dropped: number }> = [];
  private lastError: string | undefined;
  private endedResolve: ((reason: string) => void) | undefined;
  readonly ended: Promise<string>;

  private constructor(private readonly o: SenderOptions) {
    this.urls = [o.output, ...(o.alternates ?? [])].map((u) => parseTributaryUrl(u));
    this.input = typeof o.input === 'string' ? openInput(o.input, { loop: o.loop }) : o.input;
    this.backoff = o.minBackoffMs ?? 500;
    this.ended = new Promise((r) => (this.endedResolve = r));
  }

  /** Opens the input, then connects; resolves once the input listens (the session may still be coming). */
  static async start(o: SenderOptions): Promise<Sender> {
    const s = new Sender(o);
    await s.input.start({
      config: (c) => s.onConfig(c),
      metadata: (v) => s.onMetadata(v),
      frame: (f) => s.onFrame(f),
      end: (reason) => void s.finish(reason),
    });
    void s.connect();
    if (s.input.followTarget) s.followTimer = setInterval(() => s.follow(), FOLLOW_MS);
    s.reportTimer = setInterval(() => s.report(), REPORT_MS);
    if (s.urls.length > 1) s.watchTimer = setInterval(() => s.watch(), WATCH_MS);
    return s;
  }

  private get url(): TributaryUrl {
    return this.urls[this.current % this.urls.length]!;
  }

  /**
   * With alternates: the session acknowledges media constantly, so silence from the server for
   * deadAfterMs means it is gone, long before the transport's idle timeout; move on.
   */
  private watch(): void {
    const c = this.conn;
    const now = Date.now();
    // This process stalled (timers run before I/O): what arrived meanwhile is unread, the silence may be ours.
    const stalled = now - this.heard.checkedAt > WATCH_MS * 4;
    this.heard.checkedAt = now;
    if (!c || c.session.isClosed) return;
    const packets = c.session.stats().packetsReceived;
    if (packets !== this.heard.packets || stalled) this.heard = { packets, at: now, checkedAt: now };
    else if (now - this.heard.at > (this.o.deadAfterMs ?? 1500)) this.lost(c, `nothing from ${this.url.host}:${this.url.port} for ${now - this.heard.at} ms`);
  }

  get inputDescription(): string {
    return this.input.describe;
  }

  /** The input object (tests read the RTMP input's bound port from it). */
  get mediaInput(): MediaInput {
    return this.input;
  }

  status(): SenderStatus {
    const now = Date.now();
    if (now - this.rate.at >= 1000) {
      const bps = ((this.sentBytes - this.rate.bytes) * 8 * 1000) / (now - this.rate.at);
      const inBps = ((this.inputBytes - this.rate.inBytes) * 8 * 1000) / (now - this.rate.at);
      this.rate = { at: now, bytes: this.sentBytes, bps, inBytes: this.inputBytes, inBps };
    }
    const st = this.conn && !this.conn.session.isClosed ? this.conn.session.stats() : undefined;
    const targetBps = Math.round(st?.targetBitrateBps ?? 0);
    const sent = st?.packetsSent ?? 0;
    return {
      state: this.state,
      input: this.input.describe,
      server: `${this.url.host}:${this.url.port}`,
      transport: !this.conn ? '-' : this.conn.client.received.tcp > this.conn.client.received.udp ? 'tcp' : 'udp',
      rttMs: Math.round(st?.srttMs ?? 0),
      lossBeforeRepair: st?.lossBeforeRepair ?? 0,
      lossAfterRepair: st?.lossAfterRepair ?? 0,
      fecShare: sent ? (st?.fecPacketsSent ?? 0) / sent : 0,
      retransmitShare: sent ? (st?.retransmits ?? 0) / sent : 0,
      sendingBps: Math.round(this.rate.bps),
      targetBps,
      inputBps: Math.round(this.rate.inBps),
      rateWarning: this.rateWarning(now, targetBps),
      mtu: st?.mtu ?? 0,
      framesIn: this.counts.framesIn,
      framesSent: this.counts.framesSent,
      framesDropped: this.counts.droppedOffline + this.counts.droppedByTransport,
      reconnects: this.counts.reconnects,
      lastError: this.lastError,
      bond: this.bond,
      links: (st?.paths ?? []).map((p) => ({
        link: p.path, state: p.state, rttMs: Math.round(p.srttMs), loss: Math.round(p.lossRate * 10000) / 10000,
        share: Math.round(p.share * 1000) / 1000, sendingBps: p.sendRateBps, targetBps: p.targetBitrateBps,
        controller: p.controller,
      })),
    };
  }

  /**
   * A fixed-rate input that sends more than the target while the transport sheds its frames,
   * for 3 s running: the uplink cannot carry it and only the encoder's operator can fix it.
   * (Above the target alone is no evidence: a controller that is app-limited sits below what
   * the link carries.) What the uplink carries is the transport's target, what it lets media send.
   */
  private rateWarning(now: number, targetBps: number): string | undefined {
    const shed = this.shedWindow(now);
    if (this.input.followTarget || this.state !== 'live' || targetBps <= 0 || this.rate.inBps <= targetBps * 1.1 || shed.share === 0) {
      this.overSince = undefined;
      return undefined;
    }
    this.overSince ??= now;
    if (now - this.overSince < 3000) return undefined;
    const mb = (b: number) => (b / 1e6).toFixed(2);
    return `the uplink cannot carry the encoder's ${mb(this.rate.inBps)} Mbit/s, it carries about ${mb(targetBps)} Mbit/s (the transport's target; ${Math.round(shed.share * 100)}% of frames shed): set the encoder to about ${mb(targetBps * 0.8)} Mbit/s or use --encode`;
  }

  /** Share of the frames handed to the transport that it dropped, over the last ~3 s. */
  private shedWindow(now: number): { share: number } {
    const h = this.shedHistory;
    if (h.length === 0 || now - h[h.length - 1]!.at >= 500) h.push({ at: now, sent: this.counts.framesSent, dropped: this.counts.droppedByTransport });
    while (h.length > 2 && now - h[1]!.at > 3000) h.shift();
    const first = h[0]!;
    const sent = this.counts.framesSent - first.sent;
    const dropped = this.counts.droppedByTransport - first.dropped;
    return { share: sent > 0 ? Math.min(1, dropped / sent) : 0 };
  }

  /** Hands the transport's target to an input that runs its encoder (EncoderInput). */
  private follow(): void {
    const st = this.conn && !this.conn.session.isClosed ? this.conn.session.stats() : undefined;
    if (st && st.targetBitrateBps > 0) this.input.followTarget?.(st.targetBitrateBps);
  }

  /**
   * The encoder's own bitrate from onMetaData (videodatarate + audiodatarate, kbit/s) with a
   * quarter on top for FEC and headers: the controller starts there instead of at 1 Mbit/s, so
   * the first keyframe of a 3 Mbit/s stream is not held back while the rate ramps up.
   */
  private encoderBitrate(): number | undefined {
    const kbps = (k: string) => {
      const v = this.metadata?.[k];
      return typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 100_000 ? v : 0;
    };
    // An encoding input connects before its encoder has said anything: it knows its start rate.
    const total = kbps('videodatarate') + kbps('audiodatarate') || (this.input.startBitrateBps ?? 0) / 1000;
    return total > 0 ? Math.max(300_000, total * 1000 * 1.25) : undefined;
  }

  private get bond(): BondMode {
    return this.o.bond ?? ((this.o.links?.length ?? 0) > 1 ? 'aggregate' : 'single');
  }

  async close(reason = 'sender closed'): Promise<void> {
    await this.finish(reason);
  }

  private async finish(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state = 'ended';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.followTimer) clearInterval(this.followTimer);
    if (this.reportTimer) clearInterval(this.reportTimer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    const c = this.conn;
    this.conn = undefined;
    if (c && !c.session.isClosed) {
      c.session.sendFrame({ kind: 'control', data: encodeText('end', reason) });
      await new Promise((r) => setTimeout(r, 50));
    }
    await c?.client.close();
    await this.input.close();
    this.endedResolve?.(reason);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    try {
      const conn = await connectMedia(this.url, 'publish', {
        encryption: this.o.encryption ?? 'all',
        tcp: this.o.tcp ? 'force' : 'auto',
        links: this.o.links,
        bond: this.bond,
        initialBitrateBps: this.encoderBitrate(),
        congestion: this.o.congestion,
        // With other addresses to go to, a dead one is not waited for long.
        connectTimeoutMs: this.urls.length > 1 ? 2000 : 5000,
        knownHosts: this.o.knownHosts,
        warn: this.o.log,
      });
      if (this.closed) return void conn.client.close();
      this.conn = conn;
      this.heard = { packets: conn.session.stats().packetsReceived, at: Date.now(), checkedAt: Date.now() };
      this.state = 'live';
      this.backoff = this.o.minBackoffMs ?? 500;
      this.lastError = undefined;
      this.o.log?.(`connected to ${this.url.host}:${this.url.port}: ${conn.welcome}`);
      conn.session.on('message-dropped', () => this.counts.droppedByTransport++);
      conn.session.on('closed', (reason) => this.lost(conn, reason));
      conn.onMessage(() => undefined);
      if (this.metadata) this.control(encodeMetadata(this.metadata));
      for (const c of [this.video, this.audio]) if (c) this.control(encodeConfig(c));
      this.waitingKeyframe = true;
    } catch (err) {
      const e = err as Error;
      this.lastError = e.message;
      if (err instanceof MediaRefusedError && /expired|refused by the server|server's key|weaker encryption/.test(e.message)) {
        this.o.log?.(e.message);
        return void this.finish(e.message);
      }
      this.retry(e.message);
    }
  }

  private lost(conn: MediaConnection, reason: string): void {
    if (this.conn !== conn || this.closed) return;
    this.conn = undefined;
    void conn.client.close();
    this.lastError = `session lost: ${reason}`;
    this.retry(this.lastError);
  }

  private retry(why: string): void {
    if (this.closed) return;
    this.state = 'reconnecting';
    if (this.urls.length > 1) {
      // The next address at once: its server is another machine, not this one coming back.
      this.current++;
      this.backoff = this.o.minBackoffMs ?? 500;
      this.o.log?.(`${why}; moving to ${this.url.host}:${this.url.port}`);
      this.retryTimer = setTimeout(() => {
        this.counts.reconnects++;
        void this.connect();
      }, this.current % this.urls.length === 0 ? this.backoff : 0);
      return;
    }
    this.o.log?.(`${why}; retrying in ${(this.backoff / 1000).toFixed(1)} s (the encoder stays connected)`);
    this.retryTimer = setTimeout(() => {
      this.counts.reconnects++;
      void this.connect();
    }, this.backoff);
    this.backoff = Math.min(this.o.maxBackoffMs ?? 10_000, this.backoff * 2);
  }

  private onConfig(c: CodecConfig): void {
    if (c.kind === 'video') this.video = c;
    else this.audio = c;
    if (this.conn) this.control(encodeConfig(c));
  }

  private onMetadata(v: Record<string, unknown>): void {
    this.metadata = v;
    if (this.conn) this.control(encodeMetadata(v));
  }

  private onFrame(f: MediaFrame): void {
    this.counts.framesIn++;
    if (f.kind === 'data') return;
    this.inputBytes += f.data.length;
    const conn = this.conn;
    if (!conn) return void this.counts.droppedOffline++;
    if (f.kind === 'video') {
      if (f.keyframe) this.waitingKeyframe = false;
      if (this.waitingKeyframe) return void this.counts.droppedOffline++;
    }
    f.captureTime ??= Date.now();
    const data = encodeFrame(f);
    const latency = this.o.latencyMs ?? this.url.latencyMs ?? 600;
    // The deadline counts from capture: time the frame already spent here is taken off.
    const deadlineMs = Math.max(1, latency - (Date.now() - f.captureTime));
    conn.session.sendFrame({ kind: f.kind, data, deadlineMs, keyframe: f.keyframe, reference: f.reference, timestamp: f.dts });
    this.sentBytes += data.length;
    this.counts.framesSent++;
  }

  /** The server cannot see this side's RTT, repairs or target: they go to it as a report. */
  private report(): void {
    if (this.state !== 'live' || !this.conn) return;
    this.control(encodeReport(this.status()));
  }

  private control(data: Uint8Array): void {
    this.conn?.session.sendFrame({ kind: 'control', data });
  }
}
