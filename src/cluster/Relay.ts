/**
 * One relay on an edge: a channel of the relay session to the stream's owner (RelayLink: one
 * session per node pair, many streams on it), whose media feeds the
 * edge's own Stream (so its GOP cache serves the edge's new viewers, and every output of the
 * edge serves them). The hop repairs its own losses with the transport's NACK and FEC: the edge
 * asks its upstream, never the publisher.
 *
 * The session is encrypted ('all'), keyed by the cluster secret (relayAuth.ts), and pins the
 * owner's transport key from its node record. The owner's welcome (on the channel) names its fencing token; a
 * token older than the newest the edge has seen for the stream is a stale owner: refused.
 */
import { decodeMessage, encodeHello } from '../media/tributary/index.js';
import type { TransportSession } from '../net/index.js';
import type { Publisher } from '../server/Publisher.js';
import type { Stream } from '../server/Stream.js';
import { TransportPublisher } from '../server/transport/TransportPublisher.js';
import type { NodeRecord } from './keys.js';
import { RelayLink, RelayLinks } from './RelayLink.js';
import { tokenOfWelcome } from './relayAuth.js';

export class StaleOwnerError extends Error {
  constructor(readonly token: number, readonly newest: number) {
    super(`stale owner: token ${token} is older than ${newest}`);
    this.name = 'StaleOwnerError';
  }
}

export interface RelayOptions {
  stream: Stream;
  owner: NodeRecord;
  /** This node's id (named in the identity). */
  self: string;
  secret: string;
  /** The newest fencing token this edge has seen for the stream, read when the welcome comes. */
  newestToken: () => number;
  /** Per-hop delivery deadline, ms. */
  latencyMs: number;
  /** The relay ended (owner gone, session lost, closed): its reason. Called once. */
  onEnd: (reason: string) => void;
  /**
   * Main/backup: this node has its own (backup) publisher of the stream; the owner's relay goes
   * in front of it (it becomes the standby, taking over if the relay goes silent).
   */
  takeOver?: boolean;
  /** Main/backup on an edge: a second relay standing by in the stream (Relays.placeStandby). */
  standby?: boolean;
  /** ... of the node's own backup publisher (Stream.subscribeBackup) rather than of its stream. */
  backupView?: boolean;
  /** The node's relay sessions, one per node pair; without it the relay has a session of its own (tests, probes). */
  links?: RelayLinks;
}

export class Relay implements Publisher {
  readonly protocol = 'relay';
  readonly id: string;
  readonly remoteAddress: string;
  /** The owner's fencing token from its welcome. */
  token = 0;
  private link: RelayLink | undefined;
  private channel: number | undefined;
  private decoder: TransportPublisher;
  private ended = false;
  private published = false;

  constructor(private readonly o: RelayOptions) {
    this.id = `relay-${o.owner.id}-${o.stream.path}`;
    this.remoteAddress = `${o.owner.host}:${o.owner.transportPort}`;
    // The transport publisher's decoding (bounds checks, capture stamps, drop counts), not its role.
    this.decoder = new TransportPublisher(this.id, this.remoteAddress, o.stream, (r) => this.close(r));
    this.decoder.source = this;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  get owner(): string {
    return this.o.owner.id;
  }

  /** It carries the node's backup publisher, not the node's stream. */
  get backupView(): boolean {
    return this.o.backupView === true;
  }

  /** Session stats of the hop (repairs, loss), for the API and the bench. */
  stats(): ReturnType<TransportSession['stats']> | undefined {
    return this.link && !this.link.isClosed ? this.link.session.stats() : undefined;
  }

  /** Opens its channel on the node's relay session (one per node pair, RelayLinks), checks the welcome's token, then publishes into the local stream. */
  async open(timeoutMs = 1500): Promise<void> {
    const { stream, owner } = this.o;
    const link = await (this.o.links ?? new RelayLinks(this.o.self, this.o.secret)).get(owner, timeoutMs);
    if (this.ended) {
      if (link.channels === 0) link.close('relay closed while connecting');
      throw new Error('relay closed while connecting');
    }
    this.link = link;
    const held: Uint8Array[] = [];
    let welcomed = false;
    let settle: { resolve: (note: string) => void; reject: (err: Error) => void } | undefined;
    const welcome = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
    const timer = setTimeout(() => settle!.reject(new Error(`no welcome from ${owner.id} within ${timeoutMs} ms`)), timeoutMs);
    this.channel = link.openChannel(encodeHello('play', stream.app, stream.key, this.o.latencyMs), this.o.backupView === true, {
      onMessage: (data) => {
        if (welcomed) return this.onMessage(data);
        let msg;
        try {
          msg = decodeMessage(data);
        } catch {
          return;
        }
        if (msg.type === 'welcome') {
          welcomed = true;
          clearTimeout(timer);
          settle!.resolve(msg.note);
        } else if (msg.type === 'refuse') {
          clearTimeout(timer);
          link.endChannel(this.channel!, msg.reason, false); // the owner holds nothing for it
          this.channel = undefined;
          settle!.reject(new Error(`owner ${owner.id} refused: ${msg.reason}`));
        } else held.push(data);
      },
      onClosed: (reason) => {
        clearTimeout(timer);
        this.channel = undefined;
        settle!.reject(new Error(reason));
        this.close(reason);
      },
    });
    let note: string;
    try {
      note = await welcome;
    } catch (err) {
      this.close((err as Error).message);
      throw err;
    }
    const token = tokenOfWelcome(note) ?? 0;
    const newest = this.o.newestToken();
    if (token < newest) {
      const err = new StaleOwnerError(token, newest);
      this.close(err.message);
      throw err;
    }
    this.token = token;
    if (this.ended) throw new Error('relay closed while opening');
    stream.publish(this, this.o.takeOver ? { standby: true, takeOver: true } : this.o.standby ? { standby: true } : {});
    this.published = true;
    for (const d of held) this.onMessage(d);
  }

  private onMessage(data: Uint8Array): void {
    if (!this.published || this.ended) return;
    const m = this.decoder.handle(data);
    if (m?.type === 'end') this.close(`owner ended the stream: ${m.reason}`);
  }

  private heard = { packets: -1, at: 0 };

  /** Time since the session last received a packet (media, acks, pongs), ms; `now` on Date.now()'s clock. */
  heardAgoMs(now: number): number {
    const s = this.link?.session;
    if (!s || s.isClosed) return Infinity;
    const packets = s.stats().packetsReceived;
    if (packets !== this.heard.packets) this.heard = { packets, at: now };
    return now - this.heard.at;
  }

  /** Frames that did not decode or that the stream refused. */
  get dropped(): number {
    return this.decoder.dropped;
  }

  /** Idempotent: leaves the stream (its grace keeps the edge's viewers for the next relay) and the session. */
  close(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.published) this.o.stream.unpublish(this);
    // The session stays for the node's other streams; it closes with its last channel.
    if (this.channel !== undefined) this.link?.endChannel(this.channel, reason);
    this.channel = undefined;
    this.o.onEnd(reason);
  }
}
