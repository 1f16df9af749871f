/**
 * The relays of one edge: at most one per stream, opened when a viewer asks for a stream this
 * node does not have, pointed at the owner the view names, and:
 *   - moved when the owner changes (the view's watch): the old relay leaves the Stream, whose
 *     publisher grace keeps the viewers connected, and the new one's media continues the timeline;
 *   - re-opened when it dies while viewers remain (every RETRY_MS, to whatever owner the view says);
 *   - closed LINGER_MS after its last viewer left (a viewer reloading keeps it).
 * A stream a local publisher feeds is never relayed (Stream.publish lets the local one replace a relay).
 */
import type { Logger } from '../server/log.js';
import type { Registry } from '../server/Registry.js';
import type { Stream } from '../server/Stream.js';
import type { ClusterView } from './ClusterView.js';
import { Relay, StaleOwnerError } from './Relay.js';
import { RelayLinks } from './RelayLink.js';

const RETRY_MS = 200;
const LINGER_MS = 2000;
/** How long a viewer's request waits for the relay's first configs before a 404. */
const FETCH_WAIT_MS = 4000;

export interface RelaysOptions {
  registry: Registry;
  view: ClusterView;
  self: string;
  secret: string;
  latencyMs: number;
  logger: Logger;
  /** The parent node relays come from while it is alive (and the address to reach it by, if not its own). */
  upstream?: { node: string; host?: string; port?: number };
}

export class Relays {
  private readonly relays = new Map<string, Relay>();
  /** Main/backup: a second relay per stream, from a node with a backup publisher, standing by in the Stream. */
  private readonly standbys = new Map<string, Relay>();
  private readonly opening = new Map<string, Relay>();
  /** Streams a viewer asked for recently: wanted even before the viewer subscribes. */
  private readonly asked = new Map<string, number>();
  private readonly lingers = new Map<string, NodeJS.Timeout>();
  private closed = false;
  /** One relay session per node this one pulls from, every relay from that node a channel of it. */
  readonly links: RelayLinks;
  readonly stats = { opened: 0, failed: 0, staleRefused: 0, moved: 0, closedIdle: 0, standbysOpened: 0, standbySwitches: 0 };

  constructor(private readonly o: RelaysOptions) {
    this.links = new RelayLinks(o.self, o.secret);
    o.view.on('owner', (path) => this.follow(path));
  }

  /**
   * Main/backup on an edge (an app with backups, relayed here): besides the relay from the
   * owner, one from a node whose record says a backup publisher of the stream is there. It
   * stands by in the Stream, which switches to it when the owner's goes silent (the backup node
   * switched to its own publisher) without waiting for etcd, a new session and its first
   * keyframe. The cost: the stream crosses the network twice to every such edge. Called every
   * BACKUP_CHECK_MS by ClusterNode.
   */
  placeStandby(stream: Stream): void {
    const path = stream.path;
    const main = this.relays.get(path);
    const owner = this.o.view.owners.get(path);
    const current = this.standbys.get(path);
    let target: string | undefined;
    let backupView = true;
    if (main && owner && !this.closed && stream.options.backup) {
      if (main.owner !== owner.node && owner.node !== this.o.self && this.o.view.nodes.has(owner.node)) {
        // On a backup's relay (this edge switched to it) while another node owns the stream: the owner's stream stands by.
        target = owner.node;
        backupView = false;
      } else {
        for (const n of this.o.view.nodes.values()) {
          if (n.id === this.o.self || n.id === owner.node || n.id === main.owner || !Array.isArray(n.publishing) || !n.publishing.includes(path)) continue;
          target = n.id;
          break;
        }
      }
    }
    if (current && (current.isClosed || current.owner !== target || current.backupView !== backupView)) {
      this.standbys.delete(path);
      current.close(target ? `backup moved to ${target}` : 'no backup node');
    }
    if (!target || this.standbys.has(path) || stream.standby) return;
    const rec = this.o.view.nodes.get(target)!;
    const relay: Relay = new Relay({
      stream, owner: rec, self: this.o.self, secret: this.o.secret, newestToken: () => this.o.view.newestToken(path), latencyMs: this.o.latencyMs, standby: true, backupView, links: this.links,
      onEnd: (reason) => {
        if (this.standbys.get(path) === relay) this.standbys.delete(path);
        this.o.logger.info({ stream: path, node: rec.id, reason }, 'cluster: standby relay ended');
      },
    });
    this.standbys.set(path, relay);
    relay.open().then(
      () => {
        if (relay.isClosed) return;
        this.stats.standbysOpened++;
        this.o.logger.info({ stream: path, node: rec.id, token: relay.token }, 'cluster: standby relay');
        // The main relay ended while this one connected: it is the stream's publisher now.
        if (stream.publisher === relay) this.adopt(stream, relay);
      },
      (err: Error) => {
        this.o.logger.info({ stream: path, node: rec.id, err: err.message }, 'cluster: standby relay did not open');
        relay.close(err.message);
      },
    );
  }

  /** The stream switched to its standby relay (or that relay became its publisher): it is the main relay now. */
  private adopt(stream: Stream, relay: Relay): void {
    const path = stream.path;
    if (this.standbys.get(path) !== relay) return;
    this.standbys.delete(path);
    const old = this.relays.get(path);
    this.relays.set(path, relay);
    this.stats.standbySwitches++;
    this.o.logger.info({ stream: path, node: relay.owner, from: old?.owner }, 'cluster: switched to the standby relay');
    // The old main stands by in the Stream now; it is kept only while its node still backs the stream (placeStandby).
    if (old && !old.isClosed) this.standbys.set(path, old);
  }

  /** The relay of "app/key", if one is running. */
  get(path: string): Relay | undefined {
    return this.relays.get(path);
  }

  all(): Relay[] {
    return [...this.relays.values()];
  }

  /** A viewer wants app/key here: relays it from its owner and resolves once the stream has its configs. */
  async fetch(app: string, key: string): Promise<Stream | undefined> {
    const path = `${app}/${key}`;
    const owner = this.o.view.owners.get(path);
    if (!owner || owner.node === this.o.self) return undefined;
    const stream = this.o.registry.app(app).stream(key);
    this.asked.set(path, Date.now());
    this.ensure(stream);
    const until = Date.now() + FETCH_WAIT_MS;
    while (!(stream.isLive && (stream.videoConfig || stream.audioConfig))) {
      if (Date.now() > until || this.closed) {
        this.o.registry.apps.get(app)?.release(stream);
        return undefined;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return stream;
  }

  /** Called for every stream the registry makes: a relay's life follows its viewers. */
  watch(stream: Stream): void {
    stream.on('switch', (to) => {
      if (to instanceof Relay) this.adopt(stream, to);
    });
    stream.on('unsubscribe', () => {
      if (stream.subscribers.size === 0) this.lingerThenClose(stream);
    });
    stream.on('subscribe', () => {
      const t = this.lingers.get(stream.path);
      if (t) clearTimeout(t), this.lingers.delete(stream.path);
    });
  }

  private wanted(stream: Stream): boolean {
    if (this.closed || this.o.registry.find(stream.app, stream.key) !== stream) return false;
    const asked = this.asked.get(stream.path);
    return stream.subscribers.size > 0 || this.backsUp(stream) || (asked !== undefined && Date.now() - asked < LINGER_MS + FETCH_WAIT_MS);
  }

  /**
   * Main/backup: this node has a backup publisher of a stream owned (and fed) elsewhere. The
   * owner's relay goes in front of it, so this node's viewers see what everyone sees and the
   * stream here notices the owner's silence itself (Stream.checkSilence) and switches to the
   * local publisher, which then claims ownership (ClusterNode).
   */
  standBehind(stream: Stream): void {
    this.ensure(stream, true);
  }

  /** A stream a local publisher backs up (main/backup publishing): the owner's relay is wanted without viewers. */
  private backsUp(stream: Stream): boolean {
    return stream.options.backup === true && [stream.publisher, stream.standby].some((p) => p !== undefined && p.protocol !== 'relay');
  }

  /** Opens a relay for the stream unless one runs or opens, or a local publisher feeds it (unless `takeOver`, see standBehind). */
  private ensure(stream: Stream, takeOver = false): void {
    const path = stream.path;
    if (this.relays.has(path) || this.opening.has(path)) return;
    if (stream.publisher && stream.publisher.protocol !== 'relay' && !takeOver) return;
    const owner = this.o.view.owners.get(path);
    if (!owner || owner.node === this.o.self) return;
    const up = this.o.upstream;
    const parent = up && up.node !== this.o.self ? this.o.view.nodes.get(up.node) : undefined;
    const via = parent && up ? { ...parent, host: up.host ?? parent.host, transportPort: up.port ?? parent.transportPort } : undefined;
    const rec = via ?? this.o.view.nodes.get(owner.node);
    if (!rec) return this.retryLater(stream);
    const relay: Relay = new Relay({
      stream,
      owner: rec,
      self: this.o.self,
      secret: this.o.secret,
      newestToken: () => this.o.view.newestToken(path),
      latencyMs: this.o.latencyMs,
      takeOver,
      links: this.links,
      onEnd: (reason) => {
        if (this.relays.get(path) === relay) this.relays.delete(path);
        this.o.logger.info({ stream: path, owner: rec.id, reason }, 'cluster: relay ended');
        // Towards a new owner at once (the viewers are waiting); to the same one after a pause.
        const now = this.o.view.owners.get(path);
        if (now && now.node !== rec.id && !via) setImmediate(() => this.wanted(stream) && this.ensure(stream));
        else this.retryLater(stream);
      },
    });
    this.opening.set(path, relay);
    relay.open().then(
      () => {
        if (this.opening.get(path) === relay) this.opening.delete(path);
        if (relay.isClosed) return;
        this.relays.set(path, relay);
        this.stats.opened++;
        this.o.logger.info({ stream: path, owner: rec.id, token: relay.token }, 'cluster: relaying');
        if (!this.wanted(stream)) this.lingerThenClose(stream);
      },
      (err: Error) => {
        if (this.opening.get(path) === relay) this.opening.delete(path);
        if (err instanceof StaleOwnerError) this.stats.staleRefused++;
        else this.stats.failed++;
        this.o.logger.info({ stream: path, owner: rec.id, err: err.message }, 'cluster: relay did not open');
        relay.close(err.message);
      },
    );
  }

  private retryLater(stream: Stream): void {
    if (!this.wanted(stream)) return;
    setTimeout(() => this.wanted(stream) && this.ensure(stream), RETRY_MS).unref();
  }

  /** The owner of a stream changed: a relay to an older owner moves to the new one. */
  private follow(path: string): void {
    const owner = this.o.view.owners.get(path);
    const relay = this.relays.get(path);
    // A relay from a parent follows tokens only (the parent follows the owner itself).
    const fromParent = relay !== undefined && relay.owner === this.o.upstream?.node && relay.owner !== owner?.node;
    // The relay already comes from the new owner (an edge that switched to its standby relay, whose node then claimed the stream): nothing to move.
    if (relay && owner && !fromParent && owner.node === relay.owner && owner.token > relay.token) relay.token = owner.token;
    if (relay && owner && ((!fromParent && owner.node !== relay.owner) || owner.token > relay.token)) {
      this.stats.moved++;
      relay.close(`owner moved to ${owner.node} (token ${owner.token})`);
      return; // onEnd retries towards the new owner
    }
    // A relay still connecting to a node that is no longer the owner (a dead one, often) is dropped
    // at once rather than left to its connect timeout while the viewers wait.
    const pending = this.opening.get(path);
    if (pending && owner && pending.owner !== owner.node && pending.owner !== this.o.upstream?.node) {
      this.opening.delete(path);
      pending.close(`owner moved to ${owner.node} while connecting`);
    }
    if (!relay && owner && owner.node !== this.o.self) {
      // Viewers left behind here (this node owned the stream, its publisher moved away) follow too.
      const [app, key] = path.split('/') as [string, string];
      const stream = this.o.registry.find(app, key);
      if (stream && !stream.isLive && this.wanted(stream)) this.ensure(stream);
    }
  }

  private lingerThenClose(stream: Stream): void {
    const path = stream.path;
    if (this.lingers.has(path)) return;
    const t = setTimeout(() => {
      this.lingers.delete(path);
      const relay = this.relays.get(path);
      if (!relay) return;
      if (this.wanted(stream)) {
        // Wanted only because a viewer asked for it moments ago (a fetch under way, a reload):
        // look again later. Returning for good left a relay without viewers running forever
        // when its only viewer left within seconds of asking (no later unsubscribe re-arms it).
        if (stream.subscribers.size === 0 && !this.backsUp(stream)) this.lingerThenClose(stream);
        return;
      }
      this.stats.closedIdle++;
      this.relays.delete(path);
      relay.close('last viewer left');
      const standby = this.standbys.get(path);
      this.standbys.delete(path);
      standby?.close('last viewer left');
    }, LINGER_MS);
    t.unref();
    this.lingers.set(path, t);
  }

  close(): void {
    this.closed = true;
    for (const t of this.lingers.values()) clearTimeout(t);
    for (const r of [...this.relays.values(), ...this.standbys.values()]) r.close('node closing');
    this.relays.clear();
    this.standbys.clear();
    this.links.close();
  }
}
