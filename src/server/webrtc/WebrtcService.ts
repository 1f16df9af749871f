import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { announcedAddress, answerOffer, createPeer, onlyAnnounced } from '../../webrtc/peer.js';
import { checkOffer, MAX_OFFER_BYTES, type OfferUse } from '../../webrtc/sdp.js';
import { authorize, type AuthPolicy } from '../auth.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { isValidName, type Registry } from '../Registry.js';
import { MAX_FRAG_BYTES } from '../../webrtc/trickle.js';
import { iceServerLinks } from './iceServers.js';
import { BodyTooLarge, readBody } from './readBody.js';
import { TrickleGate } from './TrickleGate.js';
import { OpusFeeds } from './OpusFeeds.js';
import { WhepSession } from './WhepSession.js';
import { WhipSession } from './WhipSession.js';

export interface WebrtcDeps {
  registry: Registry;
  logger: Logger;
  metrics: Metrics;
  auth: AuthPolicy;
  host: string;
  webrtc: Config['webrtc'];
  viewer: Config['viewer'];
  /** Addresses free of the per-address limit (the config's limits.exemptAddresses). */
  exemptAddresses?: readonly string[];
}

type Session = { use: OfferUse; app: string; key: string; address: string; session: WhipSession | WhepSession; trickle: TrickleGate };

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 409: 'Conflict', 412: 'Precondition Failed', 413: 'Content Too Large', 415: 'Unsupported Media Type',
  422: 'Unprocessable Content', 428: 'Precondition Required', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** `/whip/APP/KEY` or `/whep/APP/KEY`, optionally `/SESSION`. */
function parsePath(pathname: string): { use: OfferUse; app: string; key: string; id: string | undefined } | undefined {
  const parts = pathname.split('/').slice(1);
  const [use, app, key, id] = parts;
  if ((use !== 'whip' && use !== 'whep') || parts.length < 3 || parts.length > 4) return undefined;
  if (!app || !key || !isValidName(app) || !isValidName(key) || app === '.' || app === '..' || key === '.' || key === '..') return undefined;
  if (id !== undefined && !/^[0-9a-f-]{36}$/.test(id)) return undefined;
  return { use, app, key, id };
}

/**
 * WHIP ingest (RFC 9725) and WHEP playback over werift, mounted on the HTTP listener:
 * `POST /whip/APP/KEY` and `POST /whep/APP/KEY` take an SDP offer (Content-Type
 * application/sdp, token as `Authorization: Bearer`) and answer 201 with the SDP answer and the
 * session's URL in Location; `DELETE` on that URL ends it. The 201 carries the ICE servers of
 * the config as Link headers (also an authorized OPTIONS on the endpoint, so a client can use
 * them in its first offer) and the ICE session's ETag; `PATCH` on the session URL trickles the
 * client's candidates (TrickleGate: If-Match, 422 for ICE restarts, bounded). The answer
 * carries every server candidate, so nothing trickles the other way.
 *
 * Bounds: offers over 64 KiB, more than `maxSessions` sessions, offers with no usable codec are
 * refused before any WebRTC state exists; candidates past 16 per media section are dropped; a
 * session that has not connected within `connectTimeoutMs` is reaped.
 */
export class WebrtcService {
  private readonly sessions = new Map<string, Session>();
  readonly opusFeeds: OpusFeeds;
  private readonly log: Logger;
  /** Requests refused, by reason. */
  readonly refusedBy: Record<string, number> = {};
  stats = { whipTotal: 0, whepTotal: 0, reaped: 0, candidatesDropped: 0 };
  /** Trickle ICE (PATCH): requests taken, candidates given to the stack, dropped one by one, refusals by reason. */
  readonly trickle = { patches: 0, candidates: 0, dropped: 0, endOfCandidates: 0, refused: {} as Record<string, number> };
  private closed = false;
  /** Offers being read or answered: they hold a slot too, or a burst of them would all pass the cap. */
  private pending = 0;
  /** The same, by the offerer's address. */
  private readonly pendingBy = new Map<string, number>();

  constructor(private readonly deps: WebrtcDeps) {
    this.log = deps.logger.child({ component: 'webrtc' });
    this.opusFeeds = new OpusFeeds(this.log);
    deps.metrics.addListener('webrtc', () => ({
      connections: this.sessions.size,
      connectionsTotal: this.stats.whipTotal + this.stats.whepTotal,
      rejectedTotal: Object.values(this.refusedBy).reduce((a, b) => a + b, 0),
    }));
  }

  /** Whether a request is for WHIP/WHEP (so the HTTP server hands it here, body and all). */
  static matches(url: string | undefined): boolean {
    return url !== undefined && (url.startsWith('/whip/') || url.startsWith('/whep/'));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Every session, for tests and the API. */
  list(): { id: string; use: OfferUse; app: string; key: string; connected: boolean }[] {
    return [...this.sessions].map(([id, s]) => ({ id, use: s.use, app: s.app, key: s.key, connected: s.session.life.connected }));
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    this.dispatch(req, res).catch((err) => {
      this.log.error({ err, url: req.url }, 'webrtc: request failed');
      if (!res.headersSent) this.reply(res, 500, 'internal error');
      else res.destroy();
    });
  }

  close(): void {
    this.closed = true;
    for (const s of [...this.sessions.values()]) s.session.close('server shutting down');
    this.sessions.clear();
    this.opusFeeds.close();
  }

  private reply(res: ServerResponse, status: number, message: string, headers: Record<string, string | string[]> = {}, use = 'webrtc'): void {
    if (status >= 400) {
      const reason = `${status}`;
      this.refusedBy[reason] = (this.refusedBy[reason] ?? 0) + 1;
    }
    this.deps.metrics.httpRequests.inc({ route: use, status: String(status) });
    const body = message ? message + '\n' : '';
    res.writeHead(status, STATUS_TEXT[status] ?? '', { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
    res.end(body);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://host');
    } catch {
      return this.reply(res, 400, 'bad request URL');
    }
    const p = parsePath(url.pathname);
    if (!p) return this.drain(req, res, 404, 'not a WHIP/WHEP URL: /whip/APP/KEY or /whep/APP/KEY');
    const allow = p.id === undefined ? 'POST, OPTIONS' : 'DELETE, PATCH, OPTIONS';
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match');
    res.setHeader('Access-Control-Allow-Methods', allow);
    res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Link');
    if (req.method === 'OPTIONS') {
      if (p.id !== undefined) return this.drain(req, res, 204, '', { Allow: allow, 'Accept-Patch': 'application/trickle-ice-sdpfrag' });
      // The ICE servers (TURN credentials among them) only with the token a POST would need; a
      // CORS preflight carries none and gets none.
      const links = this.authorized(p.use, p.app, p.key, req).ok ? iceServerLinks(this.deps.webrtc.iceServers) : [];
      return this.drain(req, res, 204, '', { 'Accept-Post': 'application/sdp', Allow: allow, ...(links.length ? { Link: links } : {}) });
    }
    if (p.id !== undefined) {
      if (req.method !== 'DELETE' && req.method !== 'PATCH') return this.drain(req, res, 405, 'method not allowed', { Allow: allow });
      const s = this.sessions.get(p.id);
      // The session URL is the capability (an unguessable id); its app/key must match too.
      if (!s || s.use !== p.use || s.app !== p.app || s.key !== p.key) return this.drain(req, res, 404, 'no such session');
      if (req.method === 'PATCH') return this.patch(s, req, res);
      s.session.close('ended by DELETE');
      return this.drain(req, res, 200, '');
    }
    if (req.method !== 'POST') return this.drain(req, res, 405, 'method not allowed', { Allow: allow });
    return this.offer(p.use, p.app, p.key, req, res);
  }

  /** Replies without reading a body the request may carry (the connection is closed after). */
  private drain(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string | string[]> = {}): void {
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    this.reply(res, status, message, hasBody ? { ...headers, Connection: 'close' } : headers);
  }

  private authorized(use: OfferUse, app: string, key: string, req: IncomingMessage): { ok: boolean; token: string | undefined; reason: string } {
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(req.headers.authorization ?? '');
    const token = m?.[1];
    const auth = authorize(this.deps.auth, { action: use === 'whip' ? 'publish' : 'play', app, key, token });
    return { ok: auth.ok, token, reason: auth.ok ? '' : auth.reason };
  }

  /** Trickle ICE: the client's candidates for a session (TrickleGate decides every refusal). */
  private async patch(s: Session, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = `${s.use}-trickle`;
    const refuse = (status: number, reason: string, message: string, headers: Record<string, string> = {}) => {
      this.trickle.refused[reason] = (this.trickle.refused[reason] ?? 0) + 1;
      this.reply(res, status, message, { ETag: s.trickle.etag, ...headers }, route);
    };
    const early = s.trickle.checkHeaders(req.headers['content-type'], req.headers['if-match']);
    if (early && !early.ok) return refuse(early.status, early.reason, early.message, { Connection: 'close' });
    let body: Buffer;
    try {
      body = await readBody(req, MAX_FRAG_BYTES, 5000);
    } catch (err) {
      if (err instanceof BodyTooLarge) return refuse(413, 'too-large', `trickle-ice-sdpfrag too large (${err.message})`, { Connection: 'close' });
      return refuse(400, 'body', `trickle-ice-sdpfrag not received: ${(err as Error).message}`, { Connection: 'close' });
    }
    const c = s.trickle.checkBody(body.toString('utf8'));
    if (!c.ok) return refuse(c.status, c.reason, c.message);
    this.trickle.patches++;
    this.trickle.dropped += c.dropped;
    const pc = s.session.life.pc;
    try {
      for (const cand of c.candidates) await pc.addIceCandidate({ candidate: cand.candidate, sdpMid: cand.mid ?? pc.getTransceivers()[0]?.mid ?? undefined });
      if (c.endOfCandidates) {
        this.trickle.endOfCandidates++;
        await pc.addIceCandidate({ candidate: '', sdpMid: pc.getTransceivers()[0]?.mid ?? undefined });
      }
    } catch (err) {
      return refuse(400, 'stack', `candidate refused by the WebRTC stack: ${(err as Error).message}`);
    }
    this.trickle.candidates += c.candidates.length;
    this.deps.metrics.httpRequests.inc({ route, status: '204' });
    res.writeHead(204, 'No Content', { ETag: s.trickle.etag, 'Cache-Control': 'no-store' });
    res.end();
  }

  private async offer(use: OfferUse, app: string, key: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { ok, token, reason } = this.authorized(use, app, key, req);
    if (!ok) return this.drain(req, res, token ? 403 : 401, reason, { 'WWW-Authenticate': 'Bearer realm="tributary"' });
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/sdp') return this.drain(req, res, 415, `Content-Type must be application/sdp, not "${type.slice(0, 64)}"`);
    if (this.closed) return this.drain(req, res, 503, 'server shutting down');
    if (this.sessions.size + this.pending >= this.deps.webrtc.maxSessions) return this.drain(req, res, 503, `server busy: ${this.sessions.size + this.pending} WebRTC sessions open`);
    // Each offer costs an ICE agent, a UDP port and a DTLS context until it connects or is
    // reaped: without a per-address bound one address could hold every slot by posting offers
    // it never meant to connect (600 of 600 answered from one host, ~7 a second, each held 15 s).
    const address = req.socket.remoteAddress ?? '';
    const limit = this.deps.webrtc.maxUnconnectedPerAddress;
    if (!this.deps.exemptAddresses?.includes(address)) {
      const held = this.unconnectedFrom(address);
      if (held >= limit) {
        return this.drain(req, res, 429, `${held} WebRTC sessions from ${address} have not connected yet (at most ${limit}); retry when one has`, { 'Retry-After': String(Math.ceil(this.deps.webrtc.connectTimeoutMs / 1000)) });
      }
    }
    this.pending++;
    this.pendingBy.set(address, (this.pendingBy.get(address) ?? 0) + 1);
    try {
      await this.answer(use, app, key, address, req, res);
    } finally {
      this.pending--;
      const n = (this.pendingBy.get(address) ?? 1) - 1;
      if (n > 0) this.pendingBy.set(address, n);
      else this.pendingBy.delete(address);
    }
  }

  /** Offers from `address` being answered, and its sessions that have not connected (at most maxSessions to look at). */
  private unconnectedFrom(address: string): number {
    let n = this.pendingBy.get(address) ?? 0;
    for (const s of this.sessions.values()) if (s.address === address && !s.session.life.connected) n++;
    return n;
  }

  private async answer(use: OfferUse, app: string, key: string, address: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(req, MAX_OFFER_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLarge) return this.drain(req, res, 413, `SDP offer too large (${err.message})`);
      return this.reply(res, 400, `SDP offer not received: ${(err as Error).message}`, { Connection: 'close' });
    }
    const check = checkOffer(body.toString('utf8'), use);
    if (!check.ok) return this.reply(res, check.status, check.message, {}, use);
    this.stats.candidatesDropped += check.candidatesDropped;
    const registryStream = use === 'whip' ? this.deps.registry.app(app).stream(key) : this.deps.registry.find(app, key);
    if (!registryStream || (use === 'whep' && !registryStream.isLive)) return this.reply(res, 404, `stream ${app}/${key} is not live`, {}, use);
    if (use === 'whip' && registryStream.isLive) return this.reply(res, 409, `stream ${app}/${key} is already being published`, {}, use);

    const w = this.deps.webrtc;
    const peerOptions = { host: this.deps.host, announcedAddress: w.announcedAddress, portRange: [w.portMin, w.portMax] as [number, number], iceServers: w.serverUsesIceServers ? w.iceServers : [] };
    const pc = createPeer(peerOptions);
    // A WHEP offer is recvonly: we send on each of its sections.
    const sendOnly = (p: typeof pc) => p.getTransceivers().forEach((t) => t.setDirection('sendonly'));
    let answer: string;
    try {
      answer = await answerOffer(pc, check.sdp, use === 'whep' ? sendOnly : undefined);
    } catch (err) {
      pc.close().catch(() => undefined);
      return this.reply(res, 400, `SDP offer refused by the WebRTC stack: ${(err as Error).message}`, {}, use);
    }
    answer = onlyAnnounced(answer, announcedAddress(peerOptions));
    const id = randomUUID();
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const onEnd = (reason: string, reaped: boolean) => {
      this.sessions.delete(id);
      if (reaped) this.stats.reaped++;
      this.log.info({ id, use, stream: `${app}/${key}`, reason }, `${use}: session ended`);
    };
    let session: WhipSession | WhepSession;
    const stream = registryStream;
    if (use === 'whip') {
      const s = new WhipSession(id, remote, stream, pc, w.connectTimeoutMs, this.log, (_s, reason, reaped) => onEnd(reason, reaped));
      try {
        stream.publish(s);
      } catch (err) {
        s.life.close('refused');
        return this.reply(res, 409, (err as Error).message, {}, use);
      }
      this.stats.whipTotal++;
      session = s;
    } else {
      session = new WhepSession(id, remote, stream, pc, w.connectTimeoutMs, this.deps.viewer, this.opusFeeds, (s, reason, reaped) => {
        this.deps.metrics.retireSubscriber(s);
        onEnd(reason, reaped);
      });
      this.stats.whepTotal++;
    }
    const trickle = new TrickleGate(TrickleGate.ufragOf(check.sdp), check.media.flatMap((m) => (m.mid === undefined ? [] : [m.mid])));
    this.sessions.set(id, { use, app, key, address, session, trickle });
    this.log.info({ id, use, stream: `${app}/${key}`, remote, candidatesDropped: check.candidatesDropped }, `${use}: session created`);
    this.deps.metrics.httpRequests.inc({ route: use, status: '201' });
    res.writeHead(201, 'Created', {
      'Content-Type': 'application/sdp',
      'Content-Length': Buffer.byteLength(answer),
      Location: `/${use}/${app}/${key}/${id}`,
      ETag: trickle.etag,
      ...(w.iceServers.length ? { Link: iceServerLinks(w.iceServers) } : {}),
      'Cache-Control': 'no-store',
    });
    res.end(answer);
  }
}
