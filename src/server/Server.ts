import type { Config } from './config.js';
import { HlsService } from './hls/HlsService.js';
import { HttpServer } from './http/HttpServer.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { Registry } from './Registry.js';

export interface ServerAddresses {
  host: string;
  httpPort: number;
  rtmpPort: number;
}

/**
 * One media server process: the Registry every protocol shares, the RTMP listener, the HTTP
 * listener (FLV, WebSocket-FLV, LL-HLS, API, metrics, player page) and one pino logger.
 * `start()` and `close()` are idempotent; `close()` kicks every publisher and viewer.
 */
export class Server {
  readonly registry = new Registry();
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly http: HttpServer;
  readonly hls: HlsService;
  private starting: Promise<ServerAddresses> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly config: Config,
    opts: { logger?: Logger } = {},
  ) {
    this.logger = opts.logger ?? createLogger(config.logLevel);
    this.metrics = new Metrics(this.registry);
    this.http = new HttpServer({ registry: this.registry, logger: this.logger, metrics: this.metrics, config });
    this.hls = new HlsService(this.registry);
    this.http.mountHls((req, res, { app, key, file }) => {
      if (!this.hls.handle(req, res, app, key, file)) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not an HLS file\n');
      }
    });
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
    const rtmpPort = -1;
    const addresses = { host, httpPort, rtmpPort };
    this.logger.info(addresses, 'tributary server listening');
    return addresses;
  }

  private async doClose(): Promise<void> {
    await this.starting?.catch(() => undefined);
    this.hls.close();
    this.registry.close();
    await this.http.close();
    this.logger.info('tributary server closed');
  }
}
