import { createServer, type Server, type Socket } from 'node:net';
import type { Registry } from '../Registry.js';
import { DEFAULT_LIMITS } from '../Subscriber.js';
import { DEFAULT_CHUNK_LIMITS } from './ChunkReader.js';
import { RtmpConnection } from './RtmpConnection.js';
import { emptyStats, silentLogger, type RtmpAuthorize, type RtmpLogger, type RtmpOptions, type RtmpStats } from './types.js';

export interface RtmpServerOptions extends Partial<RtmpOptions> {
  registry: Registry;
  /** pino or anything with info/warn/error/debug(obj, msg). Default: silent. */
  logger?: RtmpLogger;
  /** Publish/play gate; default: everything allowed. */
  authorize?: RtmpAuthorize;
}

export const DEFAULT_RTMP_OPTIONS: RtmpOptions = {
  ...DEFAULT_CHUNK_LIMITS,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  outChunkSize: 4096,
  windowAckSize: 2_500_000,
  maxStreamsPerConnection: 8,
  maxConnections: 10_000,
  viewerLimits: DEFAULT_LIMITS,
};

/**
 * The RTMP listener: accepts publishers (OBS, ffmpeg) and players into the shared Registry.
 * `listen()` resolves with the bound port; `close()` stops accepting and drops every
 * connection (idempotent). `stats` is a live plain object of counters.
 */
export class RtmpServer {
  readonly stats: RtmpStats = emptyStats();
  readonly options: RtmpOptions;
  private readonly server: Server;
  private readonly connections = new Set<RtmpConnection>();
  private readonly logger: RtmpLogger;
  private nextId = 1;
  private closing: Promise<void> | undefined;

  constructor(opts: RtmpServerOptions) {
    const { registry, logger, authorize, ...rest } = opts;
    this.options = { ...DEFAULT_RTMP_OPTIONS, ...stripUndefined(rest) };
    this.logger = logger ?? silentLogger;
    const ctx = { registry, authorize, options: this.options, stats: this.stats };
    this.server = createServer((socket: Socket) => {
      if (this.closing || this.connections.size >= this.options.maxConnections) {
        this.stats.connectionsRefused++;
        socket.destroy();
        return;
      }
      const conn = new RtmpConnection(`rtmp-${this.nextId++}`, socket, this.logger, ctx);
      this.connections.add(conn);
      this.stats.connectionsOpen++;
      this.stats.connectionsTotal++;
      conn.onClose = () => {
        if (this.connections.delete(conn)) this.stats.connectionsOpen--;
      };
    });
    this.server.on('error', (err) => this.logger.error({ err: err.message }, 'rtmp: listener error'));
  }

  /** Listens (port 0: any free port); resolves with the port bound. */
  listen(port = 1935, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        const bound = typeof addr === 'object' && addr ? addr.port : port;
        this.logger.info({ port: bound, host }, 'rtmp: listening');
        resolve(bound);
      });
    });
  }

  /** The bound port, or undefined before listen(). */
  get port(): number | undefined {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : undefined;
  }

  /** A copy of the counters, safe to serialise or diff. */
  snapshot(): RtmpStats {
    return { ...this.stats, errors: { ...this.stats.errors } };
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      for (const conn of [...this.connections]) conn.destroy('server closing');
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
    return this.closing;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
