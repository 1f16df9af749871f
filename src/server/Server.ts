import { authorize } from './auth.js';
import type { Config } from './config.js';
import { HlsService } from './hls/HlsService.js';
import { HttpServer } from './http/HttpServer.js';
import { AddressLimiter } from './limits/AddressLimiter.js';
import { MemoryBudget } from './limits/MemoryBudget.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { Registry } from './Registry.js';
import { RtmpServer } from './rtmp/RtmpServer.js';
import { StatsSampler } from './stats/StatsSampler.js';
import { TransportIngest } from './transport/TransportIngest.js';
import { SrtServer } from './srt/SrtServer.js';
import { WebrtcService } from './webrtc/WebrtcService.js';
import type { ServerPart } from './ServerPart.js';

export interface ServerAddresses {
  host: string;
  httpPort: number;
  rtmpPort: number;
  /** UDP, and TCP for the fallback, of the transport listener. */
  transportPort: number;
  /** UDP port of the SRT listener; 0 when it is off (srt.port 0). */
  srtPort: number;
}

/**
 * One media server process: the Registry every protocol shares, the RTMP listener, the HTTP
 * listener (FLV, WebSocket-FLV, LL-HLS, API, metrics, player page), the transport listener
 * (`tributary send` / `tributary play`) and one pino logger.
 * `start()` and `close()` are idempotent; `close()` kicks every publisher and viewer.
 * Processing, recording and cluster membership are parts added with `use` (src/node/ builds a
 * whole node); the server itself imports none of them.
 */
export class Server {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly http: HttpServer;
  readonly hls: HlsService;
  readonly rtmp: RtmpServer;
  readonly transport: TransportIngest;
  /** The SRT listener; undefined when srt.port is 0. */
  readonly srt: SrtServer | undefined;
  /** WHIP/WHEP on the HTTP port; undefined when `webrtc.enabled` is false. */
  readonly webrtc: WebrtcService | undefined;
  /** What unauthenticated peers may make the server hold, across RTMP and HTTP. */
  readonly budget: MemoryBudget;
  /** Concurrent connections per peer address, across RTMP and HTTP. */
  readonly addresses: AddressLimiter;
  /** The dashboard's history: a sample of every stream each second (GET /api/stats). */
  readonly stats: StatsSampler;
  /** What `use` added, started and closed with the server. */
  private readonly parts: ServerPart[] = [];
  private statsTimer: NodeJS.Timeout | undefined;
  private starting: Promise<ServerAddresses> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly config: Config,
    opts: { logger?: Logger } = {},
  ) {
    this.logger = opts.logger ?? createLogger(config.logLevel);
    this.registry = new Registry((app) => ({ publisherGraceMs: config.publisherGraceMs, backup: config.apps[app]?.backup ?? false }));
    this.metrics = new Metrics(this.registry);
    // One budget and one per-address cap for every TCP listener: a peer's RTMP and HTTP connections add up.
    this.budget = new MemoryBudget({ totalBytes: config.limits.memoryBudgetBytes, perKeyBytes: config.limits.memoryPerAddressBytes });
    this.addresses = new AddressLimiter(config.limits.maxConnectionsPerAddress, config.limits.exemptAddresses);
    this.stats = new StatsSampler(this.registry);
    this.http = new HttpServer({ registry: this.registry, logger: this.logger, metrics: this.metrics, config, budget: this.budget, addresses: this.addresses, stats: this.stats });
    this.rtmp = new RtmpServer({
      registry: this.registry,
      logger: this.logger.child({ component: 'rtmp' }),
      // RTMP clients carry the token in the stream name or app: rtmp://host/live/key?token=...
      authorize: (action, app, key, query) => {
        const r = authorize(config.auth, { action, app, key, token: query.get('token') });
        return r.ok ? undefined : r.reason;
      },
      viewerLimits: { skipBytes: config.viewer.skipBytes, cutBytes: config.viewer.cutBytes },
      authRequired: { publish: config.auth.publish, play: config.auth.play },
      budget: this.budget,
      addresses: this.addresses,
    });
    this.metrics.addLimits(() => {
      const e = this.rtmp.stats.errors;
      return {
        budgetUsedBytes: this.budget.used,
        budgetPeakBytes: this.budget.peak,
        budgetLimitBytes: this.budget.limits.totalBytes,
        refused: {
          rtmp: { ...this.rtmp.stats.refusedBy, 'memory budget closed': e['memory budget'] ?? 0, 'too much buffered closed': e['too much buffered'] ?? 0 },
          http: this.http.refusedBy,
          // SRT: rejections by code, bad cookies, flood answers withheld (a bounded set of keys).
          ...(this.srt ? { srt: { ...this.srt.counters } } : {}),
        },
      };
    });
    this.metrics.addListener('rtmp', () => {
      const s = this.rtmp.stats;
      return {
        connections: s.connectionsOpen,
        connectionsTotal: s.connectionsTotal,
        rejectedTotal: s.connectionsRefused + s.publishesRefused + s.playsRefused,
        bytesIn: s.bytesIn,
        bytesOut: s.bytesOut,
        messagesDropped: s.messagesDropped,
      };
    });
    this.transport = new TransportIngest({
      registry: this.registry,
      logger: this.logger,
      auth: config.auth,
      viewerLimits: config.viewer, // stallCutMs too: TransportSubscriber cuts a viewer stuck above skipBytes
      minEncryption: config.transport.minEncryption,
      keyFile: config.transport.keyFile,
    });
    this.metrics.addListener('transport', () => {
      const s = this.transport.stats;
      const dropped = Object.values(this.transport.dropped).reduce((a, b) => a + b, 0);
      return { connections: s.sessionsOpen, connectionsTotal: s.sessionsTotal, rejectedTotal: s.refused + dropped, messagesDropped: s.messagesDropped };
    });
    if (config.srt.port !== 0) {
      const srt = new SrtServer({ registry: this.registry, logger: this.logger, auth: config.auth, viewerLimits: config.viewer, latencyMs: config.srt.latencyMs, passphrase: config.srt.passphrase });
      this.srt = srt;
      this.metrics.addListener('srt', () => {
        const refused = Object.values(srt.counters).reduce((a, b) => a + b, 0);
        return { connections: srt.stats.connectionsOpen, connectionsTotal: srt.stats.connectionsTotal, rejectedTotal: refused, bytesIn: srt.stats.bytesIn, bytesOut: srt.stats.bytesOut };
      });
    }
    if (config.webrtc.enabled) {
      this.webrtc = new WebrtcService({ registry: this.registry, logger: this.logger, metrics: this.metrics, auth: config.auth, host: config.host, webrtc: config.webrtc, viewer: config.viewer, exemptAddresses: config.limits.exemptAddresses });
      this.http.mountWebrtc({ matches: WebrtcService.matches, handle: (req, res) => this.webrtc!.handle(req, res) });
    }
    this.hls = new HlsService(this.registry, { corsOrigin: config.http.corsOrigin });
    this.http.mountHls((req, res, { app, key, file }) => {
      if (this.parts.some((p) => p.serveHls?.(req, res, app, key, file))) return;
      if (!this.hls.handle(req, res, app, key, file)) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not an HLS file\n');
      }
    });
  }

  /** Adds a part (ServerPart.ts) that starts and closes with the server; before `start()`. */
  use(part: ServerPart): void {
    if (this.starting) throw new Error(`part ${part.name} added after start()`);
    this.parts.push(part);
  }

  /** Listens on every port (0 = any free port); resolves with the ports actually bound. */
  start(): Promise<ServerAddresses> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doStart(): Promise<ServerAddresses> {
    const { host } = this.config;
    const httpPort = await this.http.listen(this.config.httpPort, host);
    const rtmpPort = await this.rtmp.listen(this.config.rtmpPort, host);
    const transportPort = await this.transport.listen(this.config.transportPort, host);
    const srtPort = this.srt ? await this.srt.listen(this.config.srt.port, host) : 0;
    const addresses = { host, httpPort, rtmpPort, transportPort, srtPort };
    this.statsTimer = setInterval(() => this.stats.sample(Date.now()), this.stats.options.intervalMs);
    this.statsTimer.unref();
    for (const p of this.parts) await p.start?.(addresses);
    this.logger.info(addresses, 'tributary server listening');
    return addresses;
  }

  private async doClose(): Promise<void> {
    await this.starting?.catch(() => undefined);
    clearInterval(this.statsTimer);
    for (const p of [...this.parts].reverse()) await p.stop?.();
    this.hls.close();
    this.webrtc?.close();
    this.registry.close();
    for (const p of [...this.parts].reverse()) await p.close?.();
    await Promise.all([this.http.close(), this.rtmp.close(), this.transport.close(), this.srt?.close()]);
    this.logger.info('tributary server closed');
  }
}
