import { createServer, type IncomingMessage, type Server as NodeHttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { listStreams, streamInfo } from '../api.js';
import { authorize, type AuthPolicy } from '../auth.js';
import type { Config } from '../config.js';
import { AddressLimiter, addressKey } from '../limits/AddressLimiter.js';
import { MemoryBudget, type BudgetAccount } from '../limits/MemoryBudget.js';
import { LoopLoad } from '../limits/LoopLoad.js';
import { WsInputGuard } from '../limits/WsInputGuard.js';
import type { Logger } from '../log.js';
import type { ListenerStats, Metrics } from '../metrics.js';
import type { Registry } from '../Registry.js';
import type { Stream } from '../Stream.js';
import type { StatsSampler } from '../stats/StatsSampler.js';
import { apiCookie, checkApiAccess } from './apiAccess.js';
import { serveHttpFlv, serveWsFlv, type FlvViewerDeps } from './flvViewer.js';
import { route, type Route } from './routes.js';
import { isValidName } from '../Registry.js';
import { StaticFiles, cacheControl, notModified, type StaticFile } from './staticFiles.js';

/**
 * The mount point of the LL-HLS output: requests for /<app>/<key>/<file> go here once the
 * stream's play authorization passed. Until one is mounted such paths are 404s.
 */
export type HlsHandler = (req: IncomingMessage, res: ServerResponse, target: { app: string; key: string; file: string; stream: Stream | undefined }) => void;

export interface HttpServerDeps {
  registry: Registry;
  logger: Logger;
  metrics: Metrics;
  config: Pick<Config, 'http' | 'viewer'> & { auth: AuthPolicy } & Partial<Pick<Config, 'api' | 'apps'>>;
  /** The server-wide budget for unauthenticated input, shared with RTMP. Default: one of its own (512 MiB). */
  budget?: MemoryBudget;
  /** The per-address connection cap, shared with RTMP. Default: one of its own (64, loopback exempt). */
  addresses?: AddressLimiter;
  /** The dashboard's history (GET /api/stats); without it that route is a 404. */
  stats?: StatsSampler;
}

/** WebSocket messages from viewers: they have nothing to say, so a small cap. */
const WS_MAX_PAYLOAD = 4096;
/** Reads one WebSocket frame may span before the connection is closed (see WsInputGuard). */
const WS_MAX_READS_PER_FRAME = 64;
/** Charged per HTTP connection at accept, beyond the header cap: socket, parser, one read in flight. */
const HTTP_CONNECTION_BYTES = 16 << 10;
/** Charged on upgrade: what `ws` may hold of one frame (payload plus a buffer object per read). */
const WS_INPUT_BYTES = WS_MAX_PAYLOAD + WS_MAX_READS_PER_FRAME * 256;
/**
 * Requests one connection may have in flight. Node parses every pipelined request in a read
 * before it pauses, and each FLV request would be a viewer of its own (8 KiB of heap each, a
 * 64 KiB read holds 1600 of them); browsers and HLS players send one at a time.
 */
const MAX_PIPELINED = 8;

type Refusal = { status: number; message: string };

/** What the P2P part (src/p2pedge/) plugs in: the paths it `matches`, HTTP and WebSocket alike. */
export interface P2pMount {
  matches(url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** A route answer (GET /api/route, `?route=1`): the node a viewer should play app/key from. */
export type RouteAnswer = { ok: true; node: string; region: string; httpBase: string; transport: string; owner: string; /** Set while the cluster store is unreachable: how old the view answering may be. */ viewAgeMs?: number } | { ok: false; status: number; error: string };

/** What the cluster layer (src/cluster) plugs in; without it the server is a single node. */
export interface ClusterHooks {
  /** Brings app/key here from its owner (a relay); resolves with the live stream, or undefined. */
  fetchStream(app: string, key: string): Promise<Stream | undefined>;
  /**
   * The best node for a viewer, answered from the cached view (never an etcd read per request);
   * `avoid`: a node the viewer just lost, skipped when there is another.
   */
  route(app: string, key: string, region: string | undefined, avoid?: string): RouteAnswer;
  /** Whether a route answer names this node. */
  isSelf(node: string): boolean;
  /** Header a geo-aware proxy sets to the viewer's region. */
  regionHeader: string;
  /** The region the config's CIDR table gives an address (cluster.addressRegions), if any. */
  regionOf(address: string | undefined): string | undefined;
  /** GET /api/cluster: this node's view, relays and counters. */
  status(): unknown;
}

/**
 * Every HTTP entry point: HTTP-FLV and WebSocket-FLV viewers, the API, metrics, the player
 * page, and the LL-HLS mount. Guards against hostile clients sit here: header and request
 * timeouts (slowloris), a header size cap, a connection cap, 64 KiB WebSocket messages.
 */
/** GET /api/recordings (src/recording/): this process's recordings, and those found on disk. */
type RecordingsList = () => Promise<{ recordings: { app: string }[]; stored: { app: string }[] }>;

export class HttpServer {
  readonly server: NodeHttpServer;
  // autoPong off: a viewer that pings without reading would grow the socket's queue of pongs.
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, perMessageDeflate: false, clientTracking: true, autoPong: false });
  private readonly files = new StaticFiles();
  private readonly flvDeps: FlvViewerDeps;
  private hls: HlsHandler | undefined;
  /** Set by the cluster layer (`serve --cluster`). */
  cluster: ClusterHooks | undefined;
  /** /api/jobs and /api/mixes (src/processing/api.ts): they take bodies and other methods than GET. */
  private processing: { matches(url: string | undefined): boolean; handle(req: IncomingMessage, res: ServerResponse): void } | undefined;
  /** What an FLV viewer is fed instead of the stream itself (?quality=auto: a rendition switcher). */
  private flvSource: ((stream: Stream, url: URL) => Stream) | undefined;
  private recordings: RecordingsList | undefined;
  private webrtc: { matches(url: string | undefined): boolean; handle(req: IncomingMessage, res: ServerResponse): void } | undefined;
  private p2p: P2pMount | undefined;
  private readonly stats: ListenerStats = { connections: 0, connectionsTotal: 0, rejectedTotal: 0 };
  private readonly log: Logger;
  readonly budget: MemoryBudget;
  /** How busy the loop is: FLV and WS-FLV viewers merge their writes while it is (FlvSubscriber.send). */
  readonly loopLoad = new LoopLoad().start();
  readonly addresses: AddressLimiter;
  /** Connections refused at accept or upgrade, or closed, by a limit: by reason. */
  readonly refusedBy: Record<string, number> = {};
  /** Per socket: its budget account, and what gives back its charge and address slot (once). */
  private readonly accounts = new WeakMap<Socket, { account: BudgetAccount; release: () => void }>();
  private readonly inFlight = new WeakMap<Socket, number>();

  constructor(private readonly deps: HttpServerDeps) {
    const h = deps.config.http;
    this.log = deps.logger.child({ component: 'http' });
    this.server = createServer({
      headersTimeout: h.headersTimeoutMs,
      requestTimeout: h.requestTimeoutMs,
      keepAliveTimeout: h.keepAliveTimeoutMs,
      maxHeaderSize: h.maxHeaderSize,
      // How often Node checks the two timeouts above; its default (30 s) would let a
      // slowloris client hold a socket far longer than headersTimeout says.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(h.headersTimeoutMs / 2))),
    });
    this.server.maxConnections = h.maxConnections;
    this.budget = deps.budget ?? new MemoryBudget();
    this.addresses = deps.addresses ?? new AddressLimiter(64, ['127.0.0.1', '::1']);
    this.server.on('connection', (s: Socket) => this.onConnection(s));
    this.server.on('drop', () => this.stats.rejectedTotal++);
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    this.server.on('request', (req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.flvDeps = {
      registry: deps.registry,
      logger: this.log,
      limits: { ...deps.config.viewer, load: this.loopLoad },
      onViewerClosed: (sub) => deps.metrics.retireSubscriber(sub),
    };
    deps.metrics.addListener('http', () => this.stats);
  }

  /** Where WHIP/WHEP plug in: requests for /whip/... and /whep/..., which carry SDP bodies. */
  mountWebrtc(handler: { matches(url: string | undefined): boolean; handle(req: IncomingMessage, res: ServerResponse): void }): void {
    this.webrtc = handler;
  }

  /** Where P2P delivery plugs in (src/p2pedge/): its GET paths and its signalling WebSocket. */
  mountP2p(handler: P2pMount): void {
    this.p2p = handler;
  }

  /** Where the recorder's list plugs in (GET /api/recordings; src/recording/). */
  mountRecordings(list: RecordingsList): void {
    this.recordings = list;
  }

  /** Where LL-HLS plugs in (see HlsHandler). */
  mountHls(handler: HlsHandler): void {
    this.hls = handler;
  }

  /** Where the processing API plugs in (src/processing/api.ts): the paths it `matches` skip the GET-only checks. */
  mountProcessing(handler: { matches(url: string | undefined): boolean; handle(req: IncomingMessage, res: ServerResponse): void }, flvSource?: (stream: Stream, url: URL) => Stream): void {
    this.processing = handler;
    this.flvSource = flvSource;
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.loopLoad.stop();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** Per-address cap and budget at accept; what the connection took is given back when it closes. */
  private onConnection(s: Socket): void {
    const address = s.remoteAddress;
    if (!this.addresses.tryAcquire(address)) return this.limited(s, 'address limit', `${this.addresses.maxPerAddress} connections open from ${address}`);
    const account = this.budget.open(addressKey(address), !this.addresses.isExempt(address));
    if (!account.grow(this.deps.config.http.maxHeaderSize + HTTP_CONNECTION_BYTES)) {
      this.addresses.release(address);
      return this.limited(s, 'memory budget', `no room for a connection (${this.budget.used} of ${this.budget.limits.totalBytes} bytes held, ${this.budget.heldBy(addressKey(address))} by ${address})`);
    }
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      account.close();
      this.addresses.release(address);
    };
    this.accounts.set(s, { account, release });
    this.stats.connections++;
    this.stats.connectionsTotal++;
    s.once('close', () => {
      this.stats.connections--;
      release();
    });
  }

  /**
   * A required play token was valid on this connection: it is no longer anonymous, so it stops
   * counting against the per-address cap and the budget (a NAT full of paying viewers is fine).
   */
  private authenticated(s: Socket): void {
    if (this.deps.config.auth.play) this.accounts.get(s)?.release();
  }

  /** A connection a limit refused or ended: counted by reason, logged (the 1st, 2nd, 4th, ...), destroyed. */
  private limited(s: Duplex, reason: string, detail: string): void {
    this.stats.rejectedTotal++;
    const n = (this.refusedBy[reason] = (this.refusedBy[reason] ?? 0) + 1);
    if ((n & (n - 1)) === 0) this.log.warn({ remote: (s as Socket).remoteAddress, reason, detail, refused: n }, `http: connection refused: ${reason} (${n} so far)`);
    s.destroy();
  }

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    this.stats.rejectedTotal++;
    const remote = (socket as Socket).remoteAddress;
    this.log.info({ code: err.code, reason: err.message, remote }, 'http: client refused');
    if (!socket.writable || (socket as Socket).bytesWritten > 0) return void socket.destroy();
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  }

  private cors(res: ServerResponse): void {
    res.setHeader('Access-Control-Allow-Origin', this.deps.config.http.corsOrigin);
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Range, Content-Type, Authorization');
    res.setHeader('Access-Control-Max-Age', '600');
  }

  private send(res: ServerResponse, r: Route['kind'], status: number, type: string, body: string | Buffer, head = false): void {
    this.deps.metrics.httpRequests.inc({ route: r, status: String(status) });
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
    res.end(head ? undefined : body);
  }

  /** A page or library file, with its ETag (304 when the browser has it) and cache policy (staticFiles.ts). */
  private sendStatic(req: IncomingMessage, res: ServerResponse, r: Route['kind'], f: StaticFile, url: URL, head: boolean): void {
    const headers = { ETag: `"${f.version}"`, 'Cache-Control': cacheControl(f, url) };
    if (notModified(f, req.headers['if-none-match'])) {
      this.deps.metrics.httpRequests.inc({ route: r, status: '304' });
      res.writeHead(304, headers);
      return void res.end();
    }
    this.deps.metrics.httpRequests.inc({ route: r, status: '200' });
    res.writeHead(200, { ...headers, 'Content-Type': f.type, 'Content-Length': f.body.length });
    res.end(head ? undefined : f.body);
  }

  private json(res: ServerResponse, r: Route['kind'], status: number, value: unknown, head: boolean): void {
    this.send(res, r, status, 'application/json; charset=utf-8', JSON.stringify(value), head);
  }

  /** Play authorization plus "is it live": what both FLV paths and the HLS mount need. */
  private checkPlay(app: string, key: string, url: URL): Refusal | { stream: Stream } {
    const token = url.searchParams.get('token') ?? undefined;
    const auth = authorize(this.deps.config.auth, { action: 'play', app, key, token });
    if (!auth.ok) return { status: token ? 403 : 401, message: auth.reason };
    const stream = this.deps.registry.find(app, key);
    if (!stream || !stream.isLive) return { status: 404, message: `stream ${app}/${key} is not live` };
    return { stream };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    const s = req.socket;
    // Requests parsed from the rest of a read after a limit destroyed their connection.
    if (s.destroyed) return void res.destroy();
    const inFlight = (this.inFlight.get(s) ?? 0) + 1;
    if (inFlight > MAX_PIPELINED) return this.limited(s, 'pipelining', `more than ${MAX_PIPELINED} requests in flight on one connection`);
    this.inFlight.set(s, inFlight);
    res.once('close', () => this.inFlight.set(s, (this.inFlight.get(s) ?? 1) - 1));
    if (this.processing?.matches(req.url)) {
      this.cors(res);
      return this.processing.handle(req, res);
    }
    if (this.webrtc?.matches(req.url)) return this.webrtc.handle(req, res);
    // Nothing else here takes a body; an unread one would sit in the request's buffer (a 64 KiB read
    // per viewer, measured) for as long as an FLV response runs. Refused, and the rest dropped.
    const length = req.headers['content-length'];
    if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) {
      const n = (this.refusedBy['request body'] = (this.refusedBy['request body'] ?? 0) + 1);
      if ((n & (n - 1)) === 0) this.log.warn({ remote: s.remoteAddress, reason: 'request body', refused: n }, `http: request refused: request body (${n} so far)`);
      this.stats.rejectedTotal++;
      this.deps.metrics.httpRequests.inc({ route: 'not-found', status: '413' });
      res.writeHead(413, { 'Content-Type': 'text/plain', 'Content-Length': 23, Connection: 'close' });
      return void res.end('request body not taken\n');
    }
    if (this.p2p?.matches(req.url)) {
      this.cors(res);
      return this.p2p.handle(req, res);
    }
    this.cors(res);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://host');
    } catch {
      return this.send(res, 'not-found', 400, 'text/plain', 'bad request URL\n');
    }
    const r = route(url.pathname);
    if (req.method === 'OPTIONS') {
      this.deps.metrics.httpRequests.inc({ route: r.kind, status: '204' });
      res.writeHead(204, { 'Content-Length': 0 });
      return void res.end();
    }
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS');
      return this.send(res, r.kind, 405, 'text/plain', 'method not allowed\n');
    }
    try {
      this.dispatch(r, url, req, res, head);
    } catch (err) {
      this.log.error({ err, url: req.url }, 'request handler failed');
      if (!res.headersSent) this.send(res, r.kind, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  }

  /**
   * The API gate (apiAccess.ts) for the routes that list stream keys. Returns true when it
   * answered the request itself: a refusal, or the redirect that turns `/?token=` into a cookie.
   */
  private gateApi(r: Route, url: URL, req: IncomingMessage, res: ServerResponse, head: boolean): boolean {
    const listsKeys = r.kind === 'api-streams' || r.kind === 'api-cluster' || r.kind === 'api-recordings' || r.kind === 'api-stream' || r.kind === 'api-stats' || r.kind === 'metrics' || (r.kind === 'page' && (r.file === 'index.html' || r.file === 'dashboard/index.html'));
    if (!listsKeys) return false;
    const token = this.deps.config.api?.token;
    const fromQuery = r.kind === 'page' ? url.searchParams.get('token') : null;
    if (token !== undefined && fromQuery !== null) {
      const v = checkApiAccess(token, { remoteAddress: req.socket.remoteAddress, authorization: `Bearer ${fromQuery}`, cookie: undefined });
      if (!v.ok) return this.send(res, r.kind, v.status, 'text/plain', v.message + '\n', head), true;
      // The token leaves the address bar (and the history) at once; the cookie carries it on.
      this.deps.metrics.httpRequests.inc({ route: r.kind, status: '303' });
      res.writeHead(303, { Location: url.pathname, 'Set-Cookie': apiCookie(token, req.headers['x-forwarded-proto'] === 'https'), 'Content-Length': 0, 'Cache-Control': 'no-store' });
      return res.end(), true;
    }
    const v = checkApiAccess(token, { remoteAddress: req.socket.remoteAddress, authorization: req.headers.authorization, cookie: req.headers.cookie });
    if (v.ok) return false;
    if (v.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="tributary"');
    this.send(res, r.kind, v.status, 'text/plain', v.message + '\n', head);
    return true;
  }

  /** Apps are listed unless the config says `apps.<name>.listed: false`. */
  private listed(app: string): boolean {
    return this.deps.config.apps?.[app]?.listed ?? true;
  }

  /**
   * The viewer's region: `region=` in the query, else the proxy's header, else the config's
   * CIDR table for the connection's address (behind a proxy that address is the proxy's, so
   * the header comes first).
   */
  private viewerRegion(url: URL, req: IncomingMessage): string | undefined {
    const q = url.searchParams.get('region');
    if (q) return q;
    if (!this.cluster) return undefined;
    const h = req.headers[this.cluster.regionHeader.toLowerCase()];
    if (typeof h === 'string' && h) return h;
    return this.cluster.regionOf(req.socket.remoteAddress);
  }

  /**
   * `?route=1` on a media URL: a 302 to the node the route answer names (unless it is this
   * one). `avoid=NODE` (the node the client just lost) is honoured and not passed on. The
   * player page is not redirected: it stays on the node it was opened from (an entry name) and
   * routes its media itself, again at each reconnect, so losing the media's node is not losing
   * the page.
   */
  private redirected(app: string, key: string, url: URL, req: IncomingMessage, res: ServerResponse, kind: Route['kind']): boolean {
    if (url.searchParams.get('route') !== '1' || !this.cluster) return false;
    const a = this.cluster.route(app, key, this.viewerRegion(url, req), avoidOf(url));
    if (!a.ok || this.cluster.isSelf(a.node)) return false;
    const q = new URLSearchParams(url.searchParams);
    q.delete('route');
    q.delete('avoid');
    const qs = q.toString();
    this.deps.metrics.httpRequests.inc({ route: kind, status: '302' });
    res.writeHead(302, { Location: `${a.httpBase}${url.pathname}${qs ? `?${qs}` : ''}`, 'Content-Length': 0, 'Cache-Control': 'no-store' });
    res.end();
    return true;
  }

  private serveFlv(r: { app: string; key: string }, stream: Stream, url: URL, req: IncomingMessage, res: ServerResponse, head: boolean): void {
    this.authenticated(req.socket);
    this.deps.metrics.httpRequests.inc({ route: 'flv', status: '200' });
    if (head) {
      res.writeHead(200, { 'Content-Type': 'video/x-flv' });
      return void res.end();
    }
    serveHttpFlv(this.flvDeps, this.flvSource?.(stream, url) ?? stream, req, res);
  }

  private dispatch(r: Route, url: URL, req: IncomingMessage, res: ServerResponse, head: boolean): void {
    if (this.gateApi(r, url, req, res, head)) return;
    if ((r.kind === 'flv' || r.kind === 'hls') && this.redirected(r.app, r.key, url, req, res, r.kind)) return;
    switch (r.kind) {
      case 'api-cluster':
        if (!this.cluster) return this.json(res, r.kind, 404, { error: 'not a cluster node (serve --cluster)' }, head);
        return this.json(res, r.kind, 200, this.cluster.status(), head);
      case 'api-route': {
        const app = url.searchParams.get('app') ?? '';
        const key = url.searchParams.get('key') ?? '';
        if (!isValidName(app) || !isValidName(key)) return this.json(res, r.kind, 400, { error: 'app and key: 1-128 of A-Z a-z 0-9 _ . - ~' }, head);
        if (!this.cluster) return this.json(res, r.kind, 404, { error: 'not a cluster node (serve --cluster)' }, head);
        const a = this.cluster.route(app, key, this.viewerRegion(url, req), avoidOf(url));
        if (!a.ok) return this.json(res, r.kind, a.status, { error: a.error }, head);
        const { ok: _ok, ...body } = a;
        return this.json(res, r.kind, 200, { ...body, flv: `${a.httpBase}/${app}/${key}.flv`, play: `${a.httpBase}/play/${app}/${key}` }, head);
      }
      case 'api-recordings': {
        const listed = (l: { app: string }[]) => l.filter((x) => this.listed(x.app));
        (this.recordings?.() ?? Promise.resolve({ recordings: [], stored: [] })).then(
          (l) => this.json(res, r.kind, 200, { recordings: listed(l.recordings), stored: listed(l.stored) }, head),
          (err) => {
            this.log.error({ err }, 'recordings list failed');
            this.json(res, r.kind, 500, { error: 'recordings list failed' }, head);
          },
        );
        return;
      }
      case 'healthz':
        return this.send(res, r.kind, 200, 'text/plain', 'ok\n', head);
      case 'metrics':
        this.deps.metrics.text().then(
          (text) => this.send(res, r.kind, 200, this.deps.metrics.contentType, text, head),
          (err) => {
            this.log.error({ err }, 'metrics failed');
            this.send(res, r.kind, 500, 'text/plain', 'metrics failed\n');
          },
        );
        return;
      case 'api-streams':
        return this.json(res, r.kind, 200, { streams: listStreams(this.deps.registry, Date.now(), (app) => this.listed(app)) }, head);
      case 'api-stream': {
        const s = this.deps.registry.find(r.app, r.key);
        if (!s) return this.json(res, r.kind, 404, { error: `no stream ${r.app}/${r.key}` }, head);
        return this.json(res, r.kind, 200, streamInfo(s), head);
      }
      case 'api-stats': {
        if (!this.deps.stats) return this.json(res, r.kind, 404, { error: 'stats are not sampled on this server' }, head);
        const since = Number(url.searchParams.get('since') ?? '');
        const snap = this.deps.stats.snapshot(Date.now(), Number.isFinite(since) && url.searchParams.has('since') ? since : -Infinity);
        snap.streams = snap.streams.filter((h) => this.listed(h.app));
        return this.json(res, r.kind, 200, snap, head);
      }
      case 'page':
      case 'play-page': {
        const f = this.files.web(r.kind === 'page' ? r.file : 'play.html');
        if (!f) return this.send(res, r.kind, 404, 'text/plain', 'not found\n', head);
        return this.sendStatic(req, res, r.kind, f, url, head);
      }
      case 'lib': {
        const f = this.files.lib(r.file);
        if (!f) return this.send(res, r.kind, 404, 'text/plain', `${r.file} is not installed (npm ci)\n`, head);
        return this.sendStatic(req, res, r.kind, f, url, head);
      }
      case 'flv': {
        const c = this.checkPlay(r.app, r.key, url);
        if ('stream' in c) return this.serveFlv(r, c.stream, url, req, res, head);
        // Authorized but not live here: a cluster node brings it from its owner.
        if (c.status !== 404 || !this.cluster) return this.send(res, r.kind, c.status, 'text/plain', c.message + '\n', head);
        this.cluster.fetchStream(r.app, r.key).then(
          (stream) => {
            if (res.destroyed || res.headersSent) return;
            if (!stream) return this.send(res, r.kind, 404, 'text/plain', `stream ${r.app}/${r.key} is not live in the cluster\n`, head);
            this.serveFlv(r, stream, url, req, res, head);
          },
          (err: Error) => {
            if (!res.headersSent) this.send(res, r.kind, 503, 'text/plain', `cluster: ${err.message}\n`, head);
          },
        );
        return;
      }
      case 'hls': {
        if (!this.hls) return this.send(res, r.kind, 404, 'text/plain', 'LL-HLS is not enabled\n', head);
        const token = url.searchParams.get('token') ?? undefined;
        const auth = authorize(this.deps.config.auth, { action: 'play', app: r.app, key: r.key, token });
        if (!auth.ok) return this.send(res, r.kind, token ? 403 : 401, 'text/plain', auth.reason + '\n', head);
        this.authenticated(req.socket);
        this.deps.metrics.httpRequests.inc({ route: r.kind, status: 'mounted' });
        return this.hls(req, res, { app: r.app, key: r.key, file: r.file, stream: this.deps.registry.find(r.app, r.key) });
      }
      case 'not-found':
        return this.send(res, r.kind, 404, 'text/plain', 'not found\n', head);
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, message: string) => {
      this.stats.rejectedTotal++;
      this.deps.metrics.httpRequests.inc({ route: 'ws-flv', status: String(status) });
      const body = message + '\n';
      const text = status === 404 ? 'Not Found' : status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 503 ? 'Service Unavailable' : 'Bad Request';
      socket.end(`HTTP/1.1 ${status} ${text}\r\n` +
        `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://host');
    } catch {
      return refuse(400, 'bad request URL');
    }
    if (this.p2p?.matches(req.url)) return this.p2p.upgrade(req, socket, head);
    const r = route(url.pathname);
    if (r.kind !== 'flv') return refuse(404, 'WebSocket is served on /<app>/<key>.flv only');
    const c = this.checkPlay(r.app, r.key, url);
    if (!('stream' in c) && c.status === 404 && this.cluster) {
      this.cluster.fetchStream(r.app, r.key).then(
        (stream) => (socket.destroyed ? undefined : stream ? this.upgradeWs(req, socket, head, stream, url) : refuse(404, `stream ${r.app}/${r.key} is not live in the cluster`)),
        (err: Error) => refuse(503, `cluster: ${err.message}`),
      );
      return;
    }
    if (!('stream' in c)) return refuse(c.status, c.message);
    this.upgradeWs(req, socket, head, c.stream, url);
  }

  private upgradeWs(req: IncomingMessage, socket: Duplex, head: Buffer, stream: Stream, url: URL): void {
    const refuse = (status: number, message: string) => {
      this.stats.rejectedTotal++;
      this.deps.metrics.httpRequests.inc({ route: 'ws-flv', status: String(status) });
      socket.end(`HTTP/1.1 ${status} Service Unavailable\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
    };
    const c = { stream };
    this.authenticated(socket as Socket);
    const account = this.accounts.get(socket as Socket)?.account;
    // A closed account (authenticated) takes nothing: only anonymous viewers are charged.
    if (account && !account.isClosed && !account.grow(WS_INPUT_BYTES)) {
      const n = (this.refusedBy['memory budget'] = (this.refusedBy['memory budget'] ?? 0) + 1);
      if ((n & (n - 1)) === 0) this.log.warn({ remote: req.socket.remoteAddress, reason: 'memory budget', refused: n }, `http: WebSocket refused: memory budget (${n} so far)`);
      return refuse(503, 'server busy');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.guardInput(socket);
      this.deps.metrics.httpRequests.inc({ route: 'ws-flv', status: '101' });
      if (!c.stream.isLive) return ws.close(1011, 'stream ended');
      serveWsFlv(this.flvDeps, this.flvSource?.(c.stream, url) ?? c.stream, req, ws);
    });
  }

  /** Closes a WebSocket whose input would make `ws` hold more than it should (see WsInputGuard). */
  private guardInput(socket: Duplex): void {
    const guard = new WsInputGuard({ maxPayload: WS_MAX_PAYLOAD, maxReadsPerFrame: WS_MAX_READS_PER_FRAME });
    let done = false;
    // Before ws's own listener, so a violation is seen before ws keeps the bytes.
    socket.prependListener('data', (d: Buffer) => {
      if (done) return;
      const violation = guard.push(d);
      if (violation === undefined) return;
      done = true;
      this.limited(socket, 'ws input', violation);
    });
  }
}

/** `avoid=NODE` of a route request, when it is a well-formed node id. */
function avoidOf(url: URL): string | undefined {
  const a = url.searchParams.get('avoid');
  return a !== null && isValidName(a) ? a : undefined;
}
