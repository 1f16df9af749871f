/**
 * P2P delivery on a node (`p2p` config section; src/node/createNode.ts mounts it): the
 * signalling WebSocket at /p2p/APP/KEY (play authorization as for FLV; the stream must be live
 * on this node), one StreamEdge per stream with peers, and the browser modules at /p2p-js/.
 * What a hostile browser can make it hold is bounded here and in PeerLink: message size
 * (maxPayload), peers per stream, message rate, unsent bytes; each refusal is counted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { authorize, type AuthPolicy } from '../server/auth.js';
import type { Logger } from '../server/log.js';
import { isValidName, type Registry } from '../server/Registry.js';
import type { P2pSection } from './config.js';
import { P2pCounters } from './counters.js';
import { CoreModules } from './modules.js';
import { StreamEdge } from './StreamEdge.js';

export class P2pService {
  readonly counters = new P2pCounters();
  readonly streams = new Map<string, StreamEdge>();
  private readonly wss: WebSocketServer;
  private readonly modules = new CoreModules();
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly auth: AuthPolicy,
    private readonly s: P2pSection,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: s.maxMessageBytes, perMessageDeflate: false, clientTracking: false });
  }

  static matches(url: string | undefined): boolean {
    return url !== undefined && (url.startsWith('/p2p/') || url.startsWith('/p2p-js/'));
  }

  /** GET /p2p-js/...: the core's modules. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    const answer = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !path.startsWith('/p2p-js/')) return answer(404, 'text/plain', 'not found\n');
    this.modules.get(path.slice('/p2p-js/'.length)).then(
      (js) => (js === undefined ? answer(404, 'text/plain', 'not found\n') : answer(200, 'text/javascript; charset=utf-8', js)),
      (err: Error) => {
        this.log.error({ err }, 'p2p: module');
        answer(500, 'text/plain', 'internal error\n');
      },
    );
  }

  /** The signalling WebSocket of /p2p/APP/KEY. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, reason: string, message: string): void => {
      this.counters.refuse(reason);
      const body = message + '\n';
      socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Service Unavailable'}\r\n` +
        `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://host');
    } catch {
      return refuse(404, 'bad path', 'bad request URL');
    }
    const parts = url.pathname.split('/');
    const [, p2p, app, key] = parts;
    if (parts.length !== 4 || p2p !== 'p2p' || !app || !key || !isValidName(app) || !isValidName(key)) return refuse(404, 'bad path', 'P2P is served on /p2p/APP/KEY');
    if (this.closed || (this.s.apps.length > 0 && !this.s.apps.includes(app))) return refuse(404, 'off', `P2P is off for app ${app}`);
    const token = url.searchParams.get('token');
    const auth = authorize(this.auth, { action: 'play', app, key, token });
    if (!auth.ok) return refuse(token ? 403 : 401, 'auth', auth.reason);
    const stream = this.registry.find(app, key);
    if (!stream?.isLive) return refuse(404, 'not live', `stream ${app}/${key} is not live here`);
    const path = stream.path;
    const existing = this.streams.get(path);
    if (existing && existing.size >= this.s.maxPeersPerStream) return refuse(503, 'full', `stream ${path} has ${existing.size} peers`);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      let edge = this.streams.get(path);
      if (edge?.stream !== stream || this.closed) edge = undefined;
      if (!edge) {
        if (this.closed || !stream.isLive) return ws.close(1011, 'stream ended');
        const made: StreamEdge = new StreamEdge(stream, this.s, this.counters, () => {
          if (this.streams.get(path) === made) this.streams.delete(path);
          this.registry.apps.get(stream.app)?.release(stream);
        });
        this.streams.set(path, (edge = made));
      }
      if (edge.size >= this.s.maxPeersPerStream) {
        this.counters.refuse('full');
        return ws.close(1013, 'full');
      }
      edge.add(ws);
    });
  }

  /** Once the node listens: the browser modules are made ready in the background. */
  start(): void {
    this.modules.warm().catch((err: Error) => this.log.error({ err }, 'p2p: modules'));
  }

  /** Ends every stream's peers (they fall back to the edge or retry). Idempotent. */
  close(): void {
    this.closed = true;
    for (const e of [...this.streams.values()]) e.end('server shutting down');
  }
}
