/**
 * The server's transport listener: UDP (and the TCP fallback on the same port number) for
 * `tributary send` (publish) and `tributary play`. The handshake already proved the client holds
 * the token for its identity (src/media/tributary/session.ts); the first message must be a
 * hello naming the same role and stream. Publishers feed the same Stream model as RTMP, so
 * every output serves them; players subscribe like any viewer.
 */
import { makeToken, type AuthPolicy } from '../auth.js';
import { MediaParseError } from '../../media/frame.js';
import { decodeMessage, encodeText, OPEN_PSK, parseSessionIdentity, type SessionIdentity } from '../../media/tributary/index.js';
import { randomBytes } from 'node:crypto';
import { TransportServer, type TransportSession } from '../../net/index.js';
import { defaultServerKeyFile, loadOrCreateServerKey, ServerKeyError, type ServerKey } from '../../net/serverKey.js';
import { fingerprint, keyPairFromSeed } from '../../transport/crypto/keys.js';
import type { EncryptionMode } from '../../transport/api.js';
import type { Logger } from '../log.js';
import { PublishRefusedError, type Stream } from '../Stream.js';
import type { Registry } from '../Registry.js';
import type { BackpressureLimits } from '../Subscriber.js';
import { TransportPublisher } from './TransportPublisher.js';
import { TransportSubscriber } from './TransportSubscriber.js';
import { RelayMux } from './RelayMux.js';

export interface TransportIngestOptions {
  registry: Registry;
  logger: Logger;
  auth: AuthPolicy;
  viewerLimits: BackpressureLimits;
  /** Lowest encryption a client may use (default 'headers'); a client asking less is refused, told why, and counted under dropped['weak-encryption']. */
  minEncryption?: EncryptionMode;
  /** The server's long-term key file (made on first start; default net/serverKey.ts defaultServerKeyFile()). */
  keyFile?: string;
  /** Delivery deadline for play sessions that don't ask for one, ms (default 600). */
  playLatencyMs?: number;
  /** A session must say hello within this long (default 10 s). */
  helloTimeoutMs?: number;
}

/**
 * Relay sessions between cluster nodes: an edge plays a stream from its owner under the identity
 * `relay APP/KEY NODE`, keyed by the cluster secret (src/cluster implements this).
 */
export interface RelayGate {
  /** The pre-shared key of a relay identity, or undefined to refuse its handshake. */
  psk(identity: string): string | undefined;
  /** The app and key a relay identity names (undefined: not a relay identity). */
  parse(identity: string): { app: string; key: string; backup?: boolean } | undefined;
  /** The fencing token this node holds as the owner of app/key; undefined when it is not the owner. */
  ownerToken(app: string, key: string): number | undefined;
  /** Main/backup: the owner's token, when this node has a backup publisher of app/key to serve (a relay identity with `backup`). */
  backupToken?(app: string, key: string): number | undefined;
  /** The node a session-per-node-pair identity (`relay-mux NODE`, many streams as channels: RelayMux) names; undefined: not one. */
  parseMux?(identity: string): { node: string } | undefined;
}

export interface TransportIngestStats {
  sessionsOpen: number;
  sessionsTotal: number;
  publishes: number;
  plays: number;
  refused: number;
  /** Messages that did not parse or came out of turn. */
  messagesDropped: number;
  /** Relay sessions refused: identity refused at the handshake, handshake never finished (no cluster secret), or not the owner. */
  relayRefused: number;
  /** Sessions of `relay-mux` identities open now (one per edge node pulling streams from this one). */
  relaySessionsOpen: number;
}

export class TransportIngest {
  readonly stats: TransportIngestStats = { sessionsOpen: 0, sessionsTotal: 0, publishes: 0, plays: 0, refused: 0, messagesDropped: 0, relayRefused: 0, relaySessionsOpen: 0 };
  /** Set by the cluster layer; without it relay identities are refused. */
  relayGate: RelayGate | undefined;
  /**
   * What a player that asks for a quality is fed instead of the stream (set by processing: a
   * rendition, or an auto switcher driven by how fast this session drains); without it, or
   * for a stream without a ladder, the stream itself.
   */
  viewerSource: ((stream: Stream, quality: string) => Stream) | undefined;
  private server: TransportServer | undefined;
  private readonly log: Logger;
  private key: ServerKey | undefined;

  constructor(private readonly o: TransportIngestOptions) {
    this.log = o.logger.child({ component: 'transport' });
  }

  /** The server key's fingerprint, for clients to pin (`?fp=` in a tributary:// URL); set once listening. */
  get fingerprint(): string | undefined {
    return this.key?.fingerprint;
  }

  async listen(port: number, host: string): Promise<number> {
    this.key = this.loadKey();
    this.server = await TransportServer.listen({
      port,
      host,
      staticKey: this.key.keyPair,
      encryption: this.o.minEncryption ?? 'headers',
      resolvePsk: (identity) => this.resolvePsk(identity),
      logger: this.log,
    });
    this.server.on('session', (s) => this.onSession(s));
    return this.server.port;
  }

  /**
   * The key from its file; if the file cannot be made (a read-only home), a key for this run
   * only, with a warning: clients that pinned or remembered the old one will refuse it.
   */
  private loadKey(): ServerKey {
    try {
      const k = loadOrCreateServerKey(this.o.keyFile ?? defaultServerKeyFile());
      this.log.info({ file: k.file, fingerprint: k.fingerprint, created: k.created }, 'transport server key');
      return k;
    } catch (err) {
      if (!(err instanceof ServerKeyError) || this.o.keyFile !== undefined) throw err;
      const keyPair = keyPairFromSeed(randomBytes(32));
      const k = { keyPair, fingerprint: fingerprint(keyPair.publicKey), file: '', created: true };
      this.log.warn({ err: err.message, fingerprint: k.fingerprint }, 'transport server key not stored; using one for this run only');
      return k;
    }
  }

  /** Datagrams the endpoint dropped before a session took them, by reason. */
  get dropped(): Readonly<Record<string, number>> {
    return this.server?.dropped ?? {};
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  /** The token the client must hold for this identity, or undefined to refuse the handshake. */
  private resolvePsk(identity: string): string | { psk: string; open: true } | undefined {
    if (identity.startsWith('relay ') || identity.startsWith('relay-mux ')) {
      const psk = this.relayGate?.psk(identity);
      if (psk === undefined) this.stats.relayRefused++;
      return psk;
    }
    const id = parseSessionIdentity(identity);
    if (!id) return undefined;
    const needed = id.role === 'publish' ? this.o.auth.publish : this.o.auth.play;
    // A public key proves nothing: such sessions are capped per address by the endpoint.
    if (id.expiry === undefined) return needed ? undefined : { psk: OPEN_PSK, open: true };
    const secret = this.o.auth.secret;
    if (!secret || id.expiry * 1000 <= Date.now()) return undefined;
    return makeToken(secret, { action: id.role, app: id.app, key: id.key, expiresAt: id.expiry * 1000 });
  }

  private onSession(s: TransportSession): void {
    const mux = this.relayGate?.parseMux?.(s.core.identity ?? '');
    if (mux) return this.onMuxSession(s);
    // A relay is a player of the owner's stream whose key is the cluster secret.
    const relay = this.relayGate?.parse(s.core.identity ?? '');
    const id: SessionIdentity | undefined = relay ? { role: 'play', app: relay.app, key: relay.key, expiry: undefined } : parseSessionIdentity(s.core.identity ?? '');
    if (!id) return s.close('bad identity');
    this.stats.sessionsOpen++;
    this.stats.sessionsTotal++;
    const remote = s.stats().paths[0]?.path ?? '?';
    const name = `${relay ? 'relay' : 'tributary'}-${s.id.toString(16)}`;
    let role: ((data: Uint8Array) => void) | undefined;
    let cleanup = (): void => undefined;
    const timer = setTimeout(() => {
      if (!role) this.refuse(s, 'no hello');
    }, this.o.helloTimeoutMs ?? 10_000);
    timer.unref();
    s.on('message', (m) => {
      if (role) return role(m.data);
      role = this.hello(s, id, m.data, name, remote, (c) => (cleanup = c), relay !== undefined, relay?.backup === true);
      if (!role) this.stats.messagesDropped++;
    });
    s.on('closed', (reason) => {
      clearTimeout(timer);
      this.stats.sessionsOpen--;
      // A relay served nothing: not the owner, or a half-open handshake (a peer without the cluster secret cannot finish one).
      if (relay && !role) this.stats.relayRefused++;
      cleanup();
      this.log.info({ session: name, reason }, 'transport session closed');
    });
  }

  /** A relay session between two nodes: its channels are the streams relayed (RelayMux). */
  private onMuxSession(s: TransportSession): void {
    const gate = this.relayGate!;
    this.stats.sessionsOpen++;
    this.stats.sessionsTotal++;
    this.stats.relaySessionsOpen++;
    const mux = new RelayMux(s, `relay-${s.id.toString(16)}`, s.stats().paths[0]?.path ?? '?', {
      registry: this.o.registry,
      logger: this.log,
      viewerLimits: this.o.viewerLimits,
      playLatencyMs: this.o.playLatencyMs ?? 600,
      token: (app, key, backup) => (backup ? gate.backupToken?.(app, key) : gate.ownerToken(app, key)),
      stats: this.stats,
    });
    s.on('closed', (reason) => {
      this.stats.sessionsOpen--;
      this.stats.relaySessionsOpen--;
      // A half-open handshake (a peer without the cluster secret cannot finish one) ends with nothing served.
      if (mux.served === 0) this.stats.relayRefused++;
      this.log.info({ session: mux.name, reason, channels: mux.served }, 'transport session closed');
    });
  }

  /** Checks the hello against the identity the handshake proved; returns the message handler. */
  private hello(s: TransportSession, id: SessionIdentity, data: Uint8Array, name: string, remote: string, onCleanup: (f: () => void) => void, relay = false, backup = false): ((data: Uint8Array) => void) | undefined {
    let hello;
    try {
      hello = decodeMessage(data);
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      this.refuse(s, `first message does not parse: ${err.message}`);
      return undefined;
    }
    if (hello.type !== 'hello') {
      this.refuse(s, `expected hello, got ${hello.type}`);
      return undefined;
    }
    if (hello.role !== id.role || hello.app !== id.app || hello.key !== id.key) {
      this.refuse(s, 'hello does not match the handshake identity');
      return undefined;
    }
    // Only the owner serves a relay, and its welcome carries the fencing token the edge checks.
    const token = relay ? (backup ? this.relayGate?.backupToken?.(id.app, id.key) : this.relayGate?.ownerToken(id.app, id.key)) : undefined;
    if (relay && token === undefined) {
      this.refuse(s, `not the owner of ${id.app}/${id.key}`);
      return undefined;
    }
    const app = this.o.registry.app(id.app);
    const stream = app.stream(id.key);
    if (id.role === 'publish') {
      const pub = new TransportPublisher(name, remote, stream, (reason) => this.refuse(s, reason), Date.now, () => (s.isClosed ? [] : s.stats().paths));
      let role;
      try {
        role = stream.publish(pub, { standby: true });
      } catch (err) {
        if (!(err instanceof PublishRefusedError)) throw err;
        app.release(stream);
        this.refuse(s, err.message);
        return undefined;
      }
      this.stats.publishes++;
      s.sendFrame({ kind: 'control', data: encodeText('welcome', role === 'standby' ? `standing by for ${stream.path}` : `publishing ${stream.path}`) });
      this.log.info({ session: name, remote, stream: stream.path, role }, 'transport: publish');
      onCleanup(() => {
        stream.unpublish(pub);
        this.o.registry.apps.get(stream.app)?.release(stream);
      });
      return (d) => {
        const m = pub.handle(d);
        if (!m) this.stats.messagesDropped++;
        else if (m.type === 'end') s.close(`publisher ended: ${m.reason}`);
        else if (m.type === 'hello' || m.type === 'welcome' || m.type === 'refuse') this.stats.messagesDropped++;
      };
    }
    // The player's own deadline when its hello asks for one (tributary play --latency, ?latency=).
    const sub = new TransportSubscriber(name, remote, this.o.viewerLimits, s, hello.latencyMs ?? this.o.playLatencyMs ?? 600);
    this.stats.plays++;
    // A relay of this node's backup publisher (an edge's standby relay): refused if there is none.
    if (backup && !stream.subscribeBackup(sub)) {
      app.release(stream);
      this.refuse(s, `no backup publisher of ${id.app}/${id.key} here`);
      return undefined;
    }
    s.sendFrame({ kind: 'control', data: encodeText('welcome', relay ? `relaying ${stream.path} token=${token}` : `playing ${stream.path}`) });
    this.log.info({ session: name, remote, stream: stream.path, live: stream.isLive, ...(backup ? { view: 'backup' } : {}) }, 'transport: play');
    // A rendition (or an auto switcher) for a player asking for one; relays carry the original.
    const source = !backup && !relay && hello.quality !== undefined ? (this.viewerSource?.(stream, hello.quality) ?? stream) : stream;
    if (!backup) source.subscribe(sub);
    onCleanup(() => {
      source.unsubscribe(sub);
      stream.unsubscribe(sub);
      stream.unsubscribeBackup(sub);
      sub.close('session closed');
      this.o.registry.apps.get(stream.app)?.release(stream);
    });
    return () => {
      this.stats.messagesDropped++; // a player has nothing to say after hello but 'end'
    };
  }

  private refuse(s: TransportSession, reason: string): void {
    this.stats.refused++;
    this.log.info({ session: s.id.toString(16), reason }, 'transport: refused');
    s.sendFrame({ kind: 'control', data: encodeText('refuse', reason) });
    // Let the refusal leave before the close frame ends the session.
    setTimeout(() => s.close(reason), 200).unref();
  }
}
