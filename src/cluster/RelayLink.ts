/**
 * The edge's side of the one relay session it keeps to each node it pulls streams from: every
 * relayed stream is a channel of it (media/tributary/channel.ts), so N streams between two nodes
 * cost one handshake, one congestion controller and one keep-alive instead of N. The session
 * opens with the first channel and closes with the last (RelayLinks hands out one per node).
 *
 * The session is encrypted ('all'), keyed by the cluster secret under the identity
 * `relay-mux SELF` (relayAuth.ts), and pins the node's transport key from its node record.
 */
import { MediaParseError } from '../media/frame.js';
import { decodeChannel, encodeOnChannel, encodeText, CHANNEL_FLAG_BACKUP } from '../media/tributary/index.js';
import { fingerprint } from '../transport/crypto/keys.js';
import { TransportClient, type TransportSession } from '../net/index.js';
import type { NodeRecord } from './keys.js';
import { relayMuxIdentity, relayPsk } from './relayAuth.js';

/** A dead upstream is noticed by silence: the client pings every KEEPALIVE_MS, so ~IDLE_MS without anything is a lost node. */
const KEEPALIVE_MS = 200;
const IDLE_MS = 1000;

export interface ChannelHandlers {
  /** A message of this channel (the tributary message, header removed). */
  onMessage(message: Uint8Array): void;
  /** The session ended under the channel. */
  onClosed(reason: string): void;
}

export type LinkTarget = Pick<NodeRecord, 'id' | 'host' | 'transportPort' | 'fp'>;

export class RelayLink {
  private readonly open = new Map<number, ChannelHandlers>();
  private next = 1;
  private closed = false;
  /** Messages for no open channel (late media of an ended one, or junk): dropped. */
  dropped = 0;

  private constructor(
    readonly node: string,
    private readonly client: TransportClient,
    private readonly onGone: (l: RelayLink) => void,
  ) {
    const s = client.session;
    s.on('message', (m) => this.onMessage(m.data));
    s.on('closed', (reason) => this.gone(`relay session closed: ${reason}`));
  }

  static async connect(target: LinkTarget, self: string, secret: string, timeoutMs: number, onGone: (l: RelayLink) => void): Promise<RelayLink> {
    const identity = relayMuxIdentity(self);
    const client = await TransportClient.connect({
      host: target.host,
      port: target.transportPort,
      psk: relayPsk(secret, identity),
      identity,
      encryption: 'all',
      checkServerKey: (key) => (fingerprint(key) === target.fp ? undefined : `node ${target.id} answered with another key than its record's`),
      tcp: 'never',
      keepaliveMs: KEEPALIVE_MS,
      idleTimeoutMs: IDLE_MS,
      connectTimeoutMs: timeoutMs,
      logger: { warn: () => {}, debug: () => {} },
    });
    return new RelayLink(target.id, client, onGone);
  }

  get session(): TransportSession {
    return this.client.session;
  }

  get isClosed(): boolean {
    return this.closed || this.client.session.isClosed;
  }

  get channels(): number {
    return this.open.size;
  }

  /** Opens a channel with `hello` (an encoded hello message); returns its number. Throws on a closed link or when all 65,535 are in use. */
  openChannel(hello: Uint8Array, backup: boolean, h: ChannelHandlers): number {
    if (this.isClosed) throw new Error(`relay session to ${this.node} closed`);
    if (this.open.size >= 0xffff) throw new Error(`no free channel to ${this.node}`);
    while (this.open.has(this.next) || this.next === 0) this.next = (this.next + 1) & 0xffff;
    const ch = this.next;
    this.next = (this.next + 1) & 0xffff;
    this.open.set(ch, h);
    this.session.sendFrame({ kind: 'control', data: encodeOnChannel(ch, hello, backup ? CHANNEL_FLAG_BACKUP : 0) });
    return ch;
  }

  /**
   * Ends a channel, telling the node unless `tell` is false (it refused the channel, so holds
   * nothing for it); the session closes with its last channel. Idempotent.
   */
  endChannel(ch: number, reason: string, tell = true): void {
    if (!this.open.delete(ch) || this.isClosed) return;
    if (tell) this.session.sendFrame({ kind: 'control', data: encodeOnChannel(ch, encodeText('end', reason.slice(0, 200))) });
    if (this.open.size === 0) this.close('last channel ended');
  }

  close(reason: string): void {
    if (this.closed) return;
    this.gone(reason);
    void this.client.close();
  }

  private gone(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onGone(this);
    const hs = [...this.open.values()];
    this.open.clear();
    for (const h of hs) h.onClosed(reason);
  }

  private onMessage(data: Uint8Array): void {
    let m;
    try {
      m = decodeChannel(data);
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      return void this.dropped++;
    }
    const h = this.open.get(m.channel);
    if (!h) return void this.dropped++;
    h.onMessage(m.message);
  }
}

/** One RelayLink per node (by id, address and key), shared by every relay from it. */
export class RelayLinks {
  private readonly links = new Map<string, Promise<RelayLink>>();
  private readonly up = new Set<RelayLink>();

  constructor(
    private readonly self: string,
    private readonly secret: string,
  ) {}

  /** The open link to `target`, connecting one if there is none (concurrent callers share the attempt). */
  async get(target: LinkTarget, timeoutMs: number): Promise<RelayLink> {
    const key = `${target.id}@${target.host}:${target.transportPort}/${target.fp}`;
    for (let i = 0; i < 3; i++) {
      let p = this.links.get(key);
      if (!p) {
        p = RelayLink.connect(target, this.self, this.secret, timeoutMs, (l) => {
          this.up.delete(l);
          if (this.links.get(key) === p) this.links.delete(key);
        });
        this.links.set(key, p);
        p.then((l) => (l.isClosed ? undefined : this.up.add(l)), () => this.links.get(key) === p && this.links.delete(key));
      }
      const link = await p;
      // It may have closed between its connect and this caller's turn (its last channel ended): take a new one.
      if (!link.isClosed) return link;
      if (this.links.get(key) === p) this.links.delete(key);
    }
    throw new Error(`relay session to ${target.id} keeps closing`);
  }

  all(): RelayLink[] {
    return [...this.up];
  }

  close(): void {
    for (const l of this.up) l.close('node closing');
  }
}
