/**
 * Data channels from a Node peer to other viewers (werift, pure TypeScript), set up through the
 * edge's signalling WebSocket: the same rules as the browser's web/p2pLinks.js, so a Node peer
 * and a tab pair with each other. The one with something to send first offers; when both offer
 * at once the lower id's offer wins. Messages wait in a short queue while a channel opens; one
 * that never opens is dropped and the core finds out by silence.
 */
import { RTCPeerConnection, type RTCDataChannel, type RTCIceCandidate } from 'werift';

const QUEUE_MAX = 64;
const OPEN_TIMEOUT_MS = 8000;
/** The smallest max-message-size browsers offer; over it the core asks the edge instead. */
const MAX_MESSAGE = 65536;

export interface LinkStats {
  sentBytes: number;
  receivedBytes: number;
  tooBig: number;
  queueDropped: number;
  openTimeouts: number;
  channelsOpened: number;
  /** Create-to-open time of the channels opened, ms: sum and max (ICE, TURN, DTLS and SCTP setup). */
  openMsSum: number;
  openMsMax: number;
  /** Channel messages that were not binary (dropped). */
  garbage: number;
  /** Signals that did not fit a link (a stale candidate after glare, or a malformed body). */
  badSignals: number;
}

export interface LinksOptions {
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
  iceTransportPolicy: 'all' | 'relay';
  /** Extra host candidates (werift leaves loopback out: peers of a loopback edge need it). */
  hostAddresses?: string[];
  myId: number;
  signal: (to: number, data: Record<string, unknown>) => void;
  onMessage: (from: number, bytes: Uint8Array) => void;
  stats: LinkStats;
}

interface Link {
  id: number;
  pc: RTCPeerConnection;
  dc: RTCDataChannel | undefined;
  queue: Uint8Array[];
  offerer: boolean;
  remoteSet: boolean;
  candidates: Record<string, unknown>[];
  timer: NodeJS.Timeout;
  createdAt: number;
}

export function emptyLinkStats(): LinkStats {
  return { sentBytes: 0, receivedBytes: 0, tooBig: 0, queueDropped: 0, openTimeouts: 0, channelsOpened: 0, openMsSum: 0, openMsMax: 0, garbage: 0, badSignals: 0 };
}

export class Links {
  private readonly links = new Map<number, Link>();

  constructor(private readonly o: LinksOptions) {}

  send(to: number, bytes: Uint8Array): void {
    const l = this.links.get(to) ?? this.create(to, true);
    if (l.dc && l.dc.readyState === 'open') {
      if (bytes.length > MAX_MESSAGE) return void this.o.stats.tooBig++;
      l.dc.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
      this.o.stats.sentBytes += bytes.length;
    } else if (l.queue.length < QUEUE_MAX) l.queue.push(bytes);
    else this.o.stats.queueDropped++;
  }

  /** Bytes waiting in every open channel: the core's measure of its upload backlog. */
  buffered(): number {
    let n = 0;
    for (const l of this.links.values()) if (l.dc?.readyState === 'open') n += l.dc.bufferedAmount;
    return n;
  }

  /**
   * The candidate types of the pair ICE chose on each open channel ("host/host", "relay/host",
   * ...), as the browser's stats panel shows them: how an operator tells TURN-relayed peers
   * (coturn's bandwidth) from direct ones.
   */
  async pairs(): Promise<string[]> {
    const out: string[] = [];
    for (const l of this.links.values()) {
      if (l.dc?.readyState !== 'open') continue;
      const report = (await l.pc.getStats()) as unknown as Iterable<Record<string, unknown>> | Map<string, Record<string, unknown>>;
      const all = [...(report instanceof Map ? report.values() : report)];
      const byId = new Map(all.map((r) => [r.id, r]));
      const pair = all.find((r) => r.type === 'candidate-pair' && r.nominated === true);
      if (!pair) continue;
      const type = (id: unknown) => String(byId.get(id)?.candidateType ?? '?');
      out.push(`${type(pair.localCandidateId)}/${type(pair.remoteCandidateId)}`);
    }
    return out;
  }

  get open(): number {
    let n = 0;
    for (const l of this.links.values()) if (l.dc?.readyState === 'open') n++;
    return n;
  }

  private create(id: number, offerer: boolean): Link {
    const pc = new RTCPeerConnection({
      iceServers: this.o.iceServers,
      iceTransportPolicy: this.o.iceTransportPolicy,
      iceUseIpv6: false,
      ...(this.o.hostAddresses?.length ? { iceAdditionalHostAddresses: this.o.hostAddresses } : {}),
    });
    const l: Link = { id, pc, dc: undefined, queue: [], offerer, remoteSet: false, candidates: [], timer: setTimeout(() => undefined, 0), createdAt: performance.now() };
    this.links.set(id, l);
    pc.onIceCandidate.subscribe((c: RTCIceCandidate | undefined) => {
      if (c) this.o.signal(id, { candidate: c.toJSON() as unknown as Record<string, unknown> });
    });
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'failed' || s === 'closed') this.drop(id, l);
    });
    l.timer = setTimeout(() => {
      if (l.dc?.readyState !== 'open') {
        this.o.stats.openTimeouts++;
        this.drop(id, l);
      }
    }, OPEN_TIMEOUT_MS);
    if (offerer) {
      this.attach(l, pc.createDataChannel('p2p', { ordered: true }));
      pc.createOffer()
        .then((offer) => pc.setLocalDescription(offer))
        .then(() => this.o.signal(id, { sdp: { type: pc.localDescription!.type, sdp: pc.localDescription!.sdp } }))
        .catch(() => this.drop(id, l));
    } else pc.onDataChannel.subscribe((dc) => this.attach(l, dc));
    return l;
  }

  private attach(l: Link, dc: RTCDataChannel): void {
    l.dc = dc;
    const opened = (): void => {
      this.o.stats.channelsOpened++;
      const ms = performance.now() - l.createdAt;
      this.o.stats.openMsSum += ms;
      this.o.stats.openMsMax = Math.max(this.o.stats.openMsMax, ms);
      for (const b of l.queue.splice(0)) this.send(l.id, b);
    };
    if (dc.readyState === 'open') opened();
    dc.stateChanged.subscribe((s) => {
      if (s === 'open') opened();
      else if (s === 'closed') this.drop(l.id, l);
    });
    dc.onMessage.subscribe((data) => {
      if (typeof data === 'string') return void this.o.stats.garbage++;
      this.o.stats.receivedBytes += data.length;
      this.o.onMessage(l.id, new Uint8Array(data.buffer, data.byteOffset, data.length));
    });
  }

  /** A signal from peer `from` (through the edge): untrusted, so every field is checked. */
  async onSignal(from: unknown, data: unknown): Promise<void> {
    if (typeof from !== 'number' || typeof data !== 'object' || data === null) return void this.o.stats.badSignals++;
    const d = data as { sdp?: { type?: unknown; sdp?: unknown }; candidate?: unknown };
    let l = this.links.get(from);
    const sdp = d.sdp;
    try {
      if (sdp && sdp.type === 'offer' && typeof sdp.sdp === 'string') {
        if (l && l.offerer && this.o.myId < from) return; // our offer wins; they answer it
        const queue = l ? l.queue : [];
        if (l) this.drop(from, l);
        l = this.create(from, false);
        l.queue = queue;
        await l.pc.setRemoteDescription({ type: 'offer', sdp: sdp.sdp });
        await this.remoteSet(l);
        await l.pc.setLocalDescription(await l.pc.createAnswer());
        this.o.signal(from, { sdp: { type: l.pc.localDescription!.type, sdp: l.pc.localDescription!.sdp } });
      } else if (sdp && sdp.type === 'answer' && typeof sdp.sdp === 'string' && l && l.offerer && !l.remoteSet) {
        await l.pc.setRemoteDescription({ type: 'answer', sdp: sdp.sdp });
        await this.remoteSet(l);
      } else if (d.candidate && typeof d.candidate === 'object' && l) {
        const c = d.candidate as Record<string, unknown>;
        if (l.remoteSet) await l.pc.addIceCandidate(c as never);
        else if (l.candidates.length < 32) l.candidates.push(c);
      } else this.o.stats.badSignals++;
    } catch {
      this.o.stats.badSignals++;
    }
  }

  private async remoteSet(l: Link): Promise<void> {
    l.remoteSet = true;
    for (const c of l.candidates.splice(0)) await l.pc.addIceCandidate(c as never).catch(() => undefined);
  }

  private drop(id: number, l: Link): void {
    if (this.links.get(id) !== l) return;
    this.links.delete(id);
    clearTimeout(l.timer);
    void l.pc.close().catch(() => undefined);
  }

  close(): void {
    for (const [id, l] of [...this.links]) this.drop(id, l);
  }
}
