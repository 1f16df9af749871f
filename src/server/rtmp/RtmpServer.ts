import { createServer, type Server, type Socket } from 'node:net';
import { AddressLimiter, addressKey } from '../limits/AddressLimiter.js';
import { MemoryBudget } from '../limits/MemoryBudget.js';
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
  /** The server-wide budget for unfinished input, shared with the other listeners. Default: one of its own (512 MiB). */
  budget?: MemoryBudget;
  /** The per-address connection cap, shared with the other listeners. Default: one of its own (64, loopback exempt). */
  addresses?: AddressLimiter;
}

/**
 * What an accepted connection is charged before it sends a byte: the socket, the handshake
 * buffer, the reader, the session, one read in flight. Measured on Node 20: 1000 idle
 * connections past the handshake cost 9.7 KiB of RSS each (4.1 KiB heap); the rest of the
 * 16 KiB is headroom for a read in progress.
 */
export const RTMP_CONNECTION_BYTES = 16 << 10;

export const DEFAULT_RTMP_OPTIONS: RtmpOptions = {
  ...DEFAULT_CHUNK_LIMITS,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  outChunkSize: 4096,
  windowAckSize: 2_500_000,
  maxStreamsPerConnection: 8,
  maxConnections: 10_000,
  viewerLimits: DEFAULT_LIMITS,
  authRequired: { publish: false, play: false },
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
  readonly budget: MemoryBudget;
  readonly addresses: AddressLimiter;
  private nextId = 1;
  private closing: Promise<void> | undefined;

  constructor(opts: RtmpServerOptions) {
    const { registry, logger, authorize, ...rest } = opts;
    this.options = { ...DEFAULT_RTMP_OPTIONS, ...stripUndefined(rest) };
    this.logger = logger ?? silentLogger;
    this.budget = opts.budget ?? new MemoryBudget();
    this.addresses = opts.addresses ?? new AddressLimiter(64, ['127.0.0.1', '::1']);
    const ctx = { registry, authorize, options: this.options, stats: this.stats };
    this.server = createServer((socket: Socket) => this.accept(socket, ctx));
    this.server.on('error', (err) => this.logger.error({ err: err.message }, 'rtmp: listener error'));
  }

  private accept(socket: Socket, ctx: ConstructorParameters<typeof RtmpConnection>[3]): void {
    if (this.closing || this.connections.size >= this.options.maxConnections) {
      this.stats.connectionsRefused++;
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress;
    if (!this.addresses.tryAcquire(address)) return this.refuse(socket, 'address limit', `${this.addresses.maxPerAddress} connections open from ${address}`);
    const account = this.budget.open(addressKey(address), !this.addresses.isExempt(address));
    if (!account.grow(RTMP_CONNECTION_BYTES)) {
      this.addresses.release(address);
      return this.refuse(socket, 'memory budget', `no room for a connection (${this.budget.used} of ${this.budget.limits.totalBytes} bytes held, ${this.budget.heldBy(addressKey(address))} by ${address})`);
    }
    const conn = new RtmpConnection(`rtmp-${this.nextId++}`, socket, this.logger, ctx, account);
    this.connections.add(conn);
    this.stats.connectionsOpen++;
    this.stats.connectionsTotal++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      account.close();
      this.addresses.release(address);
    };
    // Authenticated: what it holds is no longer the unauthenticated budget's, nor its slot the address's.
    conn.onAuthenticated = release;
    conn.onClose = () => {
      release();
      if (this.connections.delete(conn)) this.stats.connectionsOpen--;
    };
  }

  /** Refused at accept: counted by reason (stats.refusedBy) and logged, the socket dropped. */
  private refuse(socket: Socket, reason: string, detail: string): void {
    this.stats.connectionsRefused++;
    const n = (this.stats.refusedBy[reason] = (this.stats.refusedBy[reason] ?? 0) + 1);
    // A flood of refusals must not flood the log: the 1st, 2nd, 4th, 8th ... are logged.
    if ((n & (n - 1)) === 0) this.logger.warn({ remote: socket.remoteAddress, reason, detail, refused: n }, `rtmp: connection refused: ${reason} (${n} so far)`);
    socket.destroy();
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
    return { ...this.stats, errors: { ...this.stats.errors }, refusedBy: { ...this.stats.refusedBy } };
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
