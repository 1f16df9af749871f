/**
 * The P2P side of one live stream at this node: the core's Edge (tracker, digests, pushes to
 * super nodes, compensation within its budget) fed from the Stream's real frames by an
 * EdgeFeed, and the peers' WebSockets (PeerLink) it talks to. It is made when the first peer
 * of the stream connects and ends when the last one leaves or the stream ends.
 *
 * Time: the core's clock is ms since this edge was made (capture times are u32 on the wire),
 * and peers are told it (`clock`) so their players judge due times on the same clock.
 */
import { createHash } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import { WireError, decode, encode, MAX_SLICE_BYTES } from '../p2p/codec.js';
import { Edge } from '../p2p/Edge.js';
import { Msg, type AnyMsg, type ToEdge } from '../p2p/messages.js';
import type { Hasher } from '../p2p/slice.js';
import type { Stream } from '../server/Stream.js';
import { coreConfig, type P2pSection } from './config.js';
import type { P2pCounters } from './counters.js';
import { EdgeFeed } from './EdgeFeed.js';
import { PeerLink } from './PeerLink.js';
import { parseSignal } from './signal.js';

const nodeHash: Hasher = (parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

const CLOCK_EVERY_MS = 2000;

export class StreamEdge {
  readonly edge: Edge;
  private readonly links = new Set<PeerLink>();
  private readonly byId = new Map<number, PeerLink>();
  private readonly t0 = Date.now();
  private readonly feed: EdgeFeed;
  private init: Uint8Array | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly clock: NodeJS.Timeout;
  private ended = false;

  constructor(
    readonly stream: Stream,
    private readonly s: P2pSection,
    private readonly counters: P2pCounters,
    /** Called once when it ends (last peer gone, or the stream ended). */
    private readonly onEnd: () => void,
  ) {
    this.edge = new Edge(coreConfig(s), nodeHash);
    this.feed = new EdgeFeed({
      init: (bytes) => {
        this.init = bytes;
        const msg = JSON.stringify({ t: 'init', init: Buffer.from(bytes).toString('base64') });
        for (const l of this.links) l.send(msg);
      },
      frame: (tag, key) => {
        if (tag.length > MAX_SLICE_BYTES) return void this.counters.framesTooBig++;
        this.edge.publish(this.now(), tag, key);
        this.flush();
      },
      ended: (reason) => this.end(reason),
    });
    this.clock = setInterval(() => {
      const msg = JSON.stringify({ t: 'clock', now: this.now() });
      for (const l of this.links) l.send(msg);
    }, CLOCK_EVERY_MS);
    this.clock.unref();
    stream.subscribe(this.feed);
  }

  get size(): number {
    return this.links.size;
  }

  now(): number {
    return Date.now() - this.t0;
  }

  /** A peer's WebSocket, upgraded and authorized. */
  add(ws: WebSocket): void {
    const link = new PeerLink(ws, this.s, this.counters);
    this.links.add(link);
    this.counters.peersOpen++;
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(link, data, isBinary));
    // ws closes a peer whose message is over maxPayload (1009) and says so here.
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.counters.close('oversized');
    });
    ws.once('close', () => this.remove(link));
    const core = this.edge.c;
    link.send(JSON.stringify({
      t: 'setup',
      rtc: { iceServers: this.s.iceServers, iceTransportPolicy: this.s.iceTransportPolicy },
      core,
      uploadKbps: this.s.browserUploadKbps,
      now: this.now(),
      init: this.init ? Buffer.from(this.init).toString('base64') : null,
    }));
  }

  /** Ends every peer (they fall back to the edge's FLV or retry) and the feed. Idempotent. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    clearInterval(this.clock);
    for (const l of this.links) l.close(1001, reason.slice(0, 100));
    this.feed.close(reason);
    this.stream.unsubscribe(this.feed);
    this.onEnd();
  }

  private remove(link: PeerLink): void {
    if (!this.links.delete(link)) return;
    this.counters.peersOpen--;
    if (link.id) {
      this.byId.delete(link.id);
      this.edge.disconnect(link.id);
      this.flush();
    }
    if (this.links.size === 0) this.end('no peers left');
  }

  private onMessage(link: PeerLink, data: RawData, isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    const now = this.now();
    if (link.isClosed || !link.admit(now, buf.length)) return;
    if (!isBinary) return this.onSignal(link, buf.toString('utf8'));
    let m: AnyMsg;
    try {
      m = decode(buf);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      return link.bad();
    }
    if (m.t === Msg.Join) {
      if (link.id) return link.bad();
      // The upload a peer claims only decides how much it is asked to push; capped all the same.
      link.id = this.edge.join(now, { ...m, uploadKbps: Math.min(m.uploadKbps, 100_000) });
      this.byId.set(link.id, link);
      this.counters.joins++;
    } else if (!link.id || m.t > Msg.NeedNeighbours) {
      return link.bad();
    } else {
      this.edge.receive(now, link.id, m as ToEdge);
    }
    this.flush();
  }

  private onSignal(link: PeerLink, text: string): void {
    const sig = parseSignal(text);
    if (typeof sig === 'string' || !link.id) return link.bad();
    const to = this.byId.get(sig.to);
    if (!to || to === link) return void this.counters.signalsDropped++;
    this.counters.signalsRelayed++;
    to.send(JSON.stringify({ t: 'signal', from: link.id, data: sig.data }));
  }

  /** Sends what the core wants sent (a message object shared by many peers is encoded once) and arms its timer. */
  private flush(): void {
    const now = this.now();
    this.edge.poll(now);
    const encoded = new Map<AnyMsg, Uint8Array>();
    for (const { to, msg } of this.edge.drain()) {
      const link = this.byId.get(to);
      if (!link) {
        this.counters.noRoute++;
        continue;
      }
      let bytes = encoded.get(msg);
      if (!bytes) encoded.set(msg, (bytes = encode(msg)));
      if (msg.t === Msg.Slice) this.counters.sliceBytesOut += msg.payload.length;
      link.send(bytes);
    }
    const at = this.edge.wakeAt;
    if (at < this.timerAt && !this.ended) {
      clearTimeout(this.timer);
      this.timerAt = at;
      this.timer = setTimeout(() => {
        this.timerAt = Infinity;
        this.flush();
      }, Math.max(0, at - now));
    }
  }
}
