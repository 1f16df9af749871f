import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import type { Registry } from '../Registry.js';
import type { Stream } from '../Stream.js';
import { HeldRequests } from './HeldRequests.js';
import { HlsPackager, type PackagerOptions } from './HlsPackager.js';
import { renderPlaylist, type RenditionReport } from './playlist.js';

export interface HlsServiceOptions extends Partial<PackagerOptions> {
  /** Requests held open per stream (blocking reloads, preload hints). Default 1000. */
  maxHeldRequests: number;
  /** A packager nobody asked anything for this long is stopped, ms. Default 30000. */
  idleTimeoutMs: number;
  /** Clock for program-date-time and idleness. Default Date.now. */
  now: () => number;
  /** Access-Control-Allow-Origin of every response: the server passes http.corsOrigin. Default '*'. */
  corsOrigin: string;
}

const DEFAULTS: HlsServiceOptions = { maxHeldRequests: 1000, idleTimeoutMs: 30_000, now: Date.now, corsOrigin: '*' };

const PLAYLIST = /^index\.m3u8$/;
const INIT = /^init(\d{0,9})\.mp4$/;
const SEGMENT = /^seg(\d{1,12})\.m4s$/;
const PART = /^part(\d{1,12})\.(\d{1,5})\.m4s$/;
const INTEGER = /^\d{1,12}$/;
const TOKEN = /^[A-Za-z0-9_.~:\-]{1,512}$/;
/** How many parts past the newest one a request may wait for (the preload hint is the first). */
const PART_LOOKAHEAD = 3;

/** A running packager and what it needs to stop cleanly. */
interface Entry {
  stream: Stream;
  packager: HlsPackager;
  generation: number;
  held: HeldRequests;
  lastRequest: number;
  detach: () => void;
}

/**
 * LL-HLS output. The HTTP router calls `handle` for `/<app>/<key>/<file>`; a packager per
 * stream starts on the first request, follows the stream's 'frame' events (in-process, so the
 * slow-viewer policy never cuts it), and stops when the stream closes, or when nobody has asked
 * for `idleTimeoutMs`. A publisher that leaves and returns within the grace (see App) does not
 * stop it: the Stream keeps one timeline, so the packager carries on with the same init
 * segment and media sequence, and players see a pause, not a new playlist. If the returning
 * publisher's codec configuration differs, the packager restarts as on any config change: a
 * new init<G>.mp4 and a playlist whose media sequence continues. Every response carries CORS
 * headers.
 */
export class HlsService {
  private readonly opts: HlsServiceOptions;
  private readonly entries = new Map<string, Entry>();
  /** Next media sequence number per stream path, so a restarted packager never goes backwards. */
  private readonly nextMsn = new Map<string, number>();
  private generation = 0;
  private readonly sweeper: NodeJS.Timeout;
  /**
   * The other renditions of the ladder a stream belongs to (keys in its app), for the rendition
   * reports of its playlist; set by the processing part (the server knows nothing of ladders).
   */
  renditionsBeside: ((app: string, key: string) => readonly string[]) | undefined;

  constructor(private readonly registry: Registry, options: Partial<HlsServiceOptions> = {}) {
    this.opts = { ...DEFAULTS, ...options };
    this.sweeper = setInterval(() => this.stopIdle(), Math.max(1000, this.opts.idleTimeoutMs / 2));
    this.sweeper.unref();
  }

  /** Streams with a running packager, with what each holds (for the API and tests). */
  stats(): Array<{ path: string; segments: number; heldRequests: number; mediaSequence: number }> {
    return [...this.entries.values()].map((e) => ({
      path: e.stream.path, segments: e.packager.segments.length, heldRequests: e.held.size, mediaSequence: e.packager.mediaSequence,
    }));
  }

  /**
   * The running packager of a stream, started if the stream is live. The server may call it on
   * publish so the first viewer finds whole segments at once instead of waiting for a GOP.
   */
  packager(app: string, key: string): HlsPackager | undefined {
    return this.entry(app, key)?.packager;
  }

  /** Starts the stream's packager if it is live, and counts this as a request (it does not go idle). */
  touch(app: string, key: string): void {
    const e = this.entry(app, key);
    if (e) e.lastRequest = this.opts.now();
  }

  /**
   * Answers a request for `file` (index.m3u8, init<G>.mp4, seg<N>.m4s, part<N>.<I>.m4s) of
   * stream app/key. Returns false, having written nothing, when `file` is not an HLS file name.
   */
  handle(req: IncomingMessage, res: ServerResponse, app: string, key: string, file: string): boolean {
    const name = file.split('?')[0] ?? '';
    if (!PLAYLIST.test(name) && !INIT.test(name) && !SEGMENT.test(name) && !PART.test(name)) return false;
    // Set once here, so every answer below (held ones too, see HeldRequests) carries it.
    res.setHeader('Access-Control-Allow-Origin', this.opts.corsOrigin);
    res.setHeader('Access-Control-Allow-Headers', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS', 'Access-Control-Max-Age': '86400' });
      res.end();
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed'), true;
    const e = this.entry(app, key);
    if (!e) return reply(res, 404, 'no live stream with an HLS-capable codec here'), true;
    e.lastRequest = this.opts.now();
    const head = req.method === 'HEAD';
    let m: RegExpExecArray | null;
    if (PLAYLIST.test(name)) this.playlist(e, req, res, head);
    else if ((m = INIT.exec(name))) {
      if (m[1] !== '' && Number(m[1]) !== e.generation) reply(res, 404, 'init segment of an earlier configuration');
      else send(res, head, 'video/mp4', 'max-age=3600', [e.packager.init]);
    } else if ((m = SEGMENT.exec(name))) this.segment(e, res, head, Number(m[1]));
    else if ((m = PART.exec(name))) this.part(e, res, head, Number(m[1]), Number(m[2]));
    return true;
  }

  /** Stops every packager and answers every held request. */
  close(): void {
    clearInterval(this.sweeper);
    for (const e of [...this.entries.values()]) this.stop(e, 503, 'server shutting down');
  }

  private playlist(e: Entry, req: IncomingMessage, res: ServerResponse, head: boolean): void {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const msnText = q.get('_HLS_msn');
    const partText = q.get('_HLS_part');
    const p = e.packager;
    // A play token on the playlist URL is passed on to every media URI (the router checks it on each).
    const token = q.get('token');
    const query = token !== null && TOKEN.test(token) ? `?token=${encodeURIComponent(token)}` : '';
    const serve = () => send(res, head, 'application/vnd.apple.mpegurl', 'no-cache', [Buffer.from(renderPlaylist(p, e.generation, query, this.reports(e.stream)))]);
    let ready: () => boolean;
    if (msnText === null) {
      if (partText !== null) return reply(res, 400, '_HLS_part without _HLS_msn');
      // A plain client needs one whole segment to start from (on a cold start there are only
      // parts for up to one GOP); LL clients pass _HLS_msn after their first load.
      ready = () => p.segments.length > 0;
    } else {
      if (!INTEGER.test(msnText) || (partText !== null && !INTEGER.test(partText))) return reply(res, 400, 'bad _HLS_msn or _HLS_part');
      const msn = Number(msnText);
      const part = partText === null ? undefined : Number(partText);
      const lastMsn = p.current?.msn ?? p.opts.firstMsn;
      if (msn > lastMsn + 2) return reply(res, 400, `_HLS_msn ${msn} is too far ahead of the live edge (${lastMsn})`);
      ready = () => hasMedia(p, msn, part);
    }
    if (ready()) return serve();
    this.hold(e, res, ready, serve);
  }

  /** The last part each packaged sibling rendition of `stream` has (one not packaged yet is left out). */
  private reports(stream: Stream): RenditionReport[] {
    const out: RenditionReport[] = [];
    for (const key of this.renditionsBeside?.(stream.app, stream.key) ?? []) {
      const p = this.entries.get(`${stream.app}/${key}`)?.packager;
      const cur = p?.current;
      const last = cur && cur.parts.length > 0 ? cur : p?.segments.at(-1);
      if (last && last.parts.length > 0) out.push({ uri: `../${key}/index.m3u8`, lastMsn: last.msn, lastPart: last.parts.length - 1 });
    }
    return out;
  }

  private segment(e: Entry, res: ServerResponse, head: boolean, msn: number): void {
    const p = e.packager;
    const serve = () => {
      const seg = p.segment(msn);
      if (!seg || !seg.complete) return reply(res, 404, 'segment no longer held');
      send(res, head, 'video/mp4', 'max-age=60', seg.parts.map((x) => x.data));
    };
    if (p.segment(msn)?.complete) return serve();
    const cur = p.current?.msn ?? p.opts.firstMsn;
    if (msn !== cur && msn !== cur + 1) return reply(res, 404, 'no such segment');
    this.hold(e, res, () => p.segment(msn)?.complete === true || msn < p.mediaSequence, serve);
  }

  private part(e: Entry, res: ServerResponse, head: boolean, msn: number, index: number): void {
    const p = e.packager;
    const serve = () => {
      const part = p.segment(msn)?.parts[index];
      if (!part) return reply(res, 404, 'no such part (the segment ended before it)');
      send(res, head, 'video/mp4', 'max-age=60', [part.data]);
    };
    const seg = p.segment(msn);
    if (seg && (index < seg.parts.length || seg.complete)) return serve();
    const cur = p.current;
    const near = cur && ((msn === cur.msn && index < cur.parts.length + PART_LOOKAHEAD) || (msn === cur.msn + 1 && index < PART_LOOKAHEAD));
    if (!near) return reply(res, 404, 'no such part');
    this.hold(e, res, () => {
      const s = p.segment(msn);
      return (s !== undefined && (index < s.parts.length || s.complete)) || msn < p.mediaSequence;
    }, serve);
  }

  private hold(e: Entry, res: ServerResponse, ready: () => boolean, serve: () => void): void {
    const timeoutMs = 3 * e.packager.targetDurationS * 1000;
    if (!e.held.hold(res, ready, serve, timeoutMs)) reply(res, 503, 'too many requests waiting on this stream');
  }

  private entry(app: string, key: string): Entry | undefined {
    const path = `${app}/${key}`;
    const existing = this.entries.get(path);
    if (existing) return existing;
    const stream = this.registry.find(app, key);
    if (!stream || !stream.isLive) return undefined;
    return this.start(stream);
  }

  private start(stream: Stream): Entry | undefined {
    let packager: HlsPackager;
    try {
      packager = new HlsPackager(stream.videoConfig, stream.audioConfig, { ...this.opts, firstMsn: this.nextMsn.get(stream.path) ?? 0 });
    } catch {
      return undefined; // no configs yet, or only codecs fMP4 here does not carry
    }
    const now = this.opts.now;
    const gop = stream.gopFrames();
    if (gop.length > 0) packager.anchor(gop[gop.length - 1]!.dts, now());
    for (const f of gop) packager.push(f, now());
    const onFrame = (f: MediaFrame) => packager.push(f, now());
    const onConfig = (c: CodecConfig) => {
      const used = packager.tracks.find((t) => t.kind === c.kind);
      if (used && equalBytes(used.config, c.data)) return;
      this.stop(e, 503, 'codec configuration changed');
      this.start(stream);
    };
    const onEnd = () => this.stop(e, 404, 'stream ended');
    const onClose = () => {
      onEnd();
      this.nextMsn.delete(stream.path);
    };
    stream.on('frame', onFrame);
    stream.on('config', onConfig);
    stream.on('close', onClose);
    const e: Entry = {
      stream, packager, generation: ++this.generation, held: new HeldRequests(this.opts.maxHeldRequests), lastRequest: now(),
      detach: () => {
        stream.off('frame', onFrame);
        stream.off('config', onConfig);
        stream.off('close', onClose);
      },
    };
    packager.onChange = () => e.held.check();
    this.entries.set(stream.path, e);
    return e;
  }

  private stop(e: Entry, status: number, message: string): void {
    if (this.entries.get(e.stream.path) !== e) return;
    this.entries.delete(e.stream.path);
    e.detach();
    e.packager.onChange = undefined;
    this.nextMsn.set(e.stream.path, e.packager.nextMsn);
    e.held.failAll(status, message);
  }

  /** Stops packagers nobody has asked anything for `idleTimeoutMs` (runs on a timer; callable by tests). */
  stopIdle(): void {
    const now = this.opts.now();
    for (const e of [...this.entries.values()]) {
      if (e.held.size === 0 && now - e.lastRequest > this.opts.idleTimeoutMs) this.stop(e, 404, 'idle');
    }
  }
}


/**
 * Whether the playlist holds what a blocking reload asked for: segment `msn` complete, or
 * part `part` of it. A part index past the end of a completed segment means the first part
 * of the next one (the spec's rule), and anything older than the window is already there.
 */
export function hasMedia(p: HlsPackager, msn: number, part: number | undefined): boolean {
  const cur = p.current;
  if (!cur) return false;
  if (msn < p.mediaSequence) return true;
  if (part === undefined) return msn < cur.msn;
  if (msn === cur.msn) return part < cur.parts.length;
  if (msn > cur.msn) return false;
  const seg = p.segment(msn);
  if (!seg || part < seg.parts.length) return true;
  return hasMedia(p, msn + 1, 0);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function send(res: ServerResponse, head: boolean, type: string, cache: string, chunks: readonly Uint8Array[]): void {
  if (res.headersSent || res.destroyed) return;
  let length = 0;
  for (const c of chunks) length += c.length;
  const headers: OutgoingHttpHeaders = { 'Content-Type': type, 'Content-Length': length, 'Cache-Control': cache };
  res.writeHead(200, headers);
  if (!head) for (const c of chunks) res.write(c);
  res.end();
}

function reply(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' });
  res.end(message + '\n');
}
