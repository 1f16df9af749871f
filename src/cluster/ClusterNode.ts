/**
 * A server as a member of a cluster (`tributary serve --cluster etcd://...`): its registration
 * (Membership), its view of the others (ClusterView), the streams it owns (Ownership) and the
 * relays that bring it streams owned elsewhere (Relays). It plugs into the server through the
 * hooks the server defines (HttpServer.cluster, TransportIngest.relayGate), so the server never
 * depends on this folder and runs exactly as before without it.
 */
import { Etcd3, type IOptions } from 'etcd3';
import type { Recorder } from '../recording/Recorder.js';
import type { Logger } from '../server/log.js';
import type { Server, ServerAddresses } from '../server/Server.js';
import type { Stream } from '../server/Stream.js';
import type { ClusterHooks, RouteAnswer } from '../server/http/HttpServer.js';
import type { RelayGate } from '../server/transport/TransportIngest.js';
import { AddressRegions } from './addressRegions.js';
import { ClusterView } from './ClusterView.js';
import type { ClusterConfig } from './config.js';
import { etcdHosts, MAX_CARRIED, type NodeLoad, type NodeRecord } from './keys.js';
import { Membership } from './Membership.js';
import { Ownership } from './Ownership.js';
import { parseRelayIdentity, parseRelayMuxIdentity, relayPsk } from './relayAuth.js';
import { Relays } from './Relays.js';
import { RecordReplicas } from './RecordReplicas.js';
import { chooseNode } from './router.js';

export type { ClusterConfig };

/** The node's recorder, and how many copies of each app's recordings the cluster keeps (0: none). */
export interface ClusterRecording {
  recorder: Recorder;
  replicas: (app: string) => number;
}

const LEASE_TTL_S = 2;
const REFRESH_MS = 1000;
const CLAIM_RETRY_MS = 500;
/** How often streams with backups are checked: a local publisher on air here without ownership claims, or stands behind the owner's relay. */
const BACKUP_CHECK_MS = 200;
/** Each hop's delivery deadline: a relay is a viewer with the players' usual budget. */
const RELAY_LATENCY_MS = 600;
/**
 * A single etcd call (not a watch or keepalive stream) gives up after this: an etcd that does not
 * answer (a black-holed host) would otherwise leave one record write per second waiting forever.
 * Above a leader election on a member loss (about a second on loopback) so that does not fail.
 */
const CALL_DEADLINE_MS = 3000;
/**
 * The watch reconnects after 100, 200, ... at most 1000 ms. The client's default grows to 30 s,
 * so after an etcd outage of some seconds the view stayed behind for that long after etcd was back.
 */
const WATCH_RETRY_MAX_MS = 1000;
/** The view is taken as current while its watch is up and etcd took one of this node's record writes within this. */
const VIEW_FRESH_MS = 2500;

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

function watchBackoff(ms: number): WatchBackoff {
  return { duration: ms, next: () => watchBackoff(Math.min(WATCH_RETRY_MAX_MS, ms * 2)) };
}

export class ClusterNode {
  readonly client: Etcd3;
  readonly view: ClusterView;
  readonly membership: Membership;
  readonly ownership: Ownership;
  readonly relays: Relays;
  private readonly log: Logger;
  private replicas: RecordReplicas | undefined;
  private readonly host: string;
  private cpu = { at: performance.now(), usage: process.cpuUsage(), cores: 0 };
  private closed = false;
  private backupTimer: NodeJS.Timeout | undefined;
  /** Streams a claim loop runs for (one at a time per stream). */
  private readonly claiming = new Set<Stream>();
  private readonly addressRegions: AddressRegions;

  constructor(
    private readonly server: Server,
    private readonly cfg: ClusterConfig,
    private readonly addresses: ServerAddresses,
    private readonly recording: ClusterRecording,
  ) {
    this.log = server.logger.child({ component: 'cluster', node: cfg.nodeId });
    this.host = cfg.advertiseHost ?? (addresses.host === '0.0.0.0' || addresses.host === '::' ? '127.0.0.1' : addresses.host);
    this.addressRegions = new AddressRegions(cfg.addressRegions);
    // Every endpoint of the URL: a call to a dead member is retried on another (the client's pool).
    this.client = new Etcd3({
      hosts: etcdHosts(cfg.etcd),
      dialTimeout: 2000,
      defaultCallOptions: (c) => (c.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
      faultHandling: { watchBackoff: watchBackoff(50) },
    });
    this.view = new ClusterView(this.client);
    this.membership = new Membership({
      client: this.client,
      ttlSeconds: LEASE_TTL_S,
      refreshMs: REFRESH_MS,
      record: () => this.record(),
      logger: this.log,
      onNewLease: () => this.reclaimAll(),
    });
    this.ownership = new Ownership(this.client, this.membership, this.view, cfg.nodeId, this.log);
    this.ownership.onLost = (path) => this.reclaim(path);
    this.relays = new Relays({ registry: server.registry, view: this.view, self: cfg.nodeId, secret: cfg.secret, latencyMs: RELAY_LATENCY_MS, logger: this.log, upstream: parseUpstream(cfg.upstream) });
  }

  get nodeId(): string {
    return this.cfg.nodeId;
  }

  async start(): Promise<void> {
    await this.view.start();
    await this.membership.start();
    const reg = this.server.registry;
    reg.on('stream', (s) => this.follow(s));
    for (const s of reg.streams()) this.follow(s);
    this.server.transport.relayGate = this.gate();
    this.server.http.cluster = this.hooks();
    this.backupTimer = setInterval(() => {
      for (const s of reg.streams()) {
        if (!s.options.backup) continue;
        this.placeBackup(s);
        this.relays.placeStandby(s);
      }
    }, BACKUP_CHECK_MS);
    this.backupTimer.unref();
    this.replicas = new RecordReplicas({ registry: reg, view: this.view, relays: this.relays, self: this.cfg.nodeId, replicas: this.recording.replicas });
    this.recording.recorder.recordsRelay = (s) => this.replicas?.isReplica(s.path) ?? false;
    this.log.info({ region: this.cfg.region, host: this.host, etcd: this.cfg.etcd }, 'cluster: joined');
  }

  /** Leaves the cluster: relays close, the lease is revoked (records and owned keys go at once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.backupTimer);
    this.replicas?.close();
    this.relays.close();
    this.server.http.cluster = undefined;
    this.server.transport.relayGate = undefined;
    await this.membership.close();
    await this.view.close();
    this.client.close();
  }

  private follow(stream: Stream): void {
    this.relays.watch(stream);
    stream.on('publish', (p) => {
      if (p.protocol !== 'relay') this.onLocalPublisher(stream);
    });
    // Main/backup: the stream here switched to a local publisher (the owner's relay went silent): it owns the stream now.
    stream.on('switch', (to, from) => {
      this.log.info({ stream: stream.path, to: to.protocol, from: from.protocol }, 'cluster: stream switched publisher');
      if (to.protocol !== 'relay' && this.ownership.token(stream.app, stream.key) === undefined) void this.claim(stream);
    });
    stream.once('close', () => void this.ownership.release(stream.app, stream.key).catch(() => undefined));
    if (stream.publisher && stream.publisher.protocol !== 'relay') this.onLocalPublisher(stream);
  }

  /**
   * A publisher started here. Without backups it takes ownership (the publisher moved here). In
   * an app with backups, while another live node owns the stream, it is that stream's backup: it
   * stands behind the owner's relay and takes over only when that goes silent (Stream.checkSilence).
   */
  private onLocalPublisher(stream: Stream): void {
    if (stream.options.backup && this.ownerElsewhere(stream)) this.relays.standBehind(stream);
    else void this.claim(stream);
  }

  private ownerElsewhere(stream: Stream): boolean {
    const o = this.view.owners.get(stream.path);
    return o !== undefined && o.node !== this.cfg.nodeId && this.view.nodes.has(o.node);
  }

  /** A new lease replaced a lost one: the streams this node owned are claimed again, each until it holds. */
  private reclaimAll(): void {
    for (const path of this.ownership.forgetAll()) this.reclaim(path);
  }

  /** Claims app/key again if its publisher is still here. */
  private reclaim(path: string): void {
    if (this.closed) return;
    const [app, key] = path.split('/') as [string, string];
    const stream = this.server.registry.find(app, key);
    if (stream?.publisher && stream.publisher.protocol !== 'relay') void this.claim(stream);
  }

  /** Main/backup, checked every BACKUP_CHECK_MS: a local publisher on air here owns the stream or stands behind its owner. */
  private placeBackup(stream: Stream): void {
    const active = stream.publisher;
    if (!active || active.protocol === 'relay' || this.ownership.token(stream.app, stream.key) !== undefined) return;
    if (this.ownerElsewhere(stream)) this.relays.standBehind(stream);
    else void this.claim(stream);
  }

  /** Claims until it holds, while the local publisher is there (etcd may be away for a while). */
  private async claim(stream: Stream): Promise<void> {
    if (this.claiming.has(stream)) return;
    this.claiming.add(stream);
    const publisher = stream.publisher;
    try {
      while (!this.closed && stream.publisher === publisher && publisher) {
        try {
          await this.ownership.claim(stream.app, stream.key);
          return;
        } catch (err) {
          this.log.warn({ stream: stream.path, err: (err as Error).message }, 'cluster: claim failed; retrying');
          await new Promise((r) => setTimeout(r, CLAIM_RETRY_MS));
        }
      }
    } finally {
      this.claiming.delete(stream);
      // Another local publisher arrived while this loop ran for the previous one: it claims now.
      const now = stream.publisher;
      if (!this.closed && now && now !== publisher && now.protocol !== 'relay') setImmediate(() => this.onLocalPublisher(stream));
    }
  }

  private gate(): RelayGate {
    return {
      psk: (identity) => (parseRelayIdentity(identity) || parseRelayMuxIdentity(identity) ? relayPsk(this.cfg.secret, identity) : undefined),
      parse: (identity) => parseRelayIdentity(identity),
      parseMux: (identity) => parseRelayMuxIdentity(identity),
      // The owner serves with its own token; a parent relays what it carries with the token it got.
      // A parent asked for a stream it does not carry yet fetches it and refuses this once (the child retries).
      // An edge's standby relay of this node's backup publisher: served with the owner's token (the edge checks it as any).
      backupToken: (app, key) => this.view.owners.get(`${app}/${key}`)?.token,
      ownerToken: (app, key) => {
        const t = this.ownership.token(app, key) ?? this.claimedInView(app, key) ?? this.relays.get(`${app}/${key}`)?.token;
        if (t === undefined) void this.relays.fetch(app, key).catch(() => undefined);
        return t;
      },
    };
  }

  /**
   * Main/backup: this node's claim went through (the watch names it owner, under the newest
   * token) but the answer to its own request has not come back yet (a loaded etcd or node):
   * edges that saw the watch are served with that token rather than refused as stale, as they
   * would be with the old owner's token this node's relay carries.
   */
  private claimedInView(app: string, key: string): number | undefined {
    const o = this.view.owners.get(`${app}/${key}`);
    const s = this.server.registry.find(app, key);
    if (!o || o.node !== this.cfg.nodeId || !s?.options.backup || !s.publisher || s.publisher.protocol === 'relay') return undefined;
    return o.token;
  }

  private hooks(): ClusterHooks {
    return {
      fetchStream: (app, key) => this.relays.fetch(app, key),
      route: (app, key, region, avoid) => this.route(app, key, region, avoid),
      isSelf: (node) => node === this.cfg.nodeId,
      regionHeader: this.cfg.regionHeader,
      regionOf: (address) => this.addressRegions.regionOf(address),
      status: () => this.status(),
    };
  }

  /** What GET /api/cluster shows: the view, the streams owned and relayed here, the counters. */
  status(): Record<string, unknown> {
    return {
      node: this.cfg.nodeId,
      region: this.cfg.region,
      nodes: [...this.view.nodes.values()],
      owners: Object.fromEntries(this.view.owners),
      owned: this.ownership.owned(),
      relayLinks: this.relays.links.all().map((l) => ({ node: l.node, channels: l.channels })),
      relays: this.relays.all().map((r) => {
        const s = r.stats();
        return { stream: r.id.slice(`relay-${r.owner}-`.length), owner: r.owner, token: r.token, dropped: r.dropped, retransmits: s?.retransmits, fecRecovered: s?.fecRecovered, lossBeforeRepair: s?.lossBeforeRepair, lossAfterRepair: s?.lossAfterRepair, srttMs: s?.srttMs };
      }),
      counters: {
        ...this.relays.stats,
        claims: this.ownership.claims,
        takeovers: this.ownership.takeovers,
        staleLeaseClaims: this.ownership.staleLeaseClaims,
        ownedKeysLost: this.ownership.keysLost,
        relayRefused: this.server.transport.stats.relayRefused,
        relaySessionsIn: this.server.transport.stats.relaySessionsOpen,
        recordWrites: this.membership.writes,
        recordWriteFailures: this.membership.writeFailures,
        leaseGrants: this.membership.grants,
        watchDisconnects: this.view.disconnects,
        badRecords: this.view.badRecords,
      },
      etcdUnreachableMs: Math.round(this.etcdUnreachableMs()),
    };
  }

  /**
   * How long etcd has not answered this node (0: it does): the watch is down, or no record write
   * went through for VIEW_FRESH_MS (a watch on a member cut off from the others stays up, silent).
   */
  etcdUnreachableMs(): number {
    const now = performance.now();
    let since = this.view.disconnectedSince ?? Infinity;
    const lastWrite = this.membership.lastWriteAt;
    if (now - lastWrite > VIEW_FRESH_MS) since = Math.min(since, lastWrite);
    return since === Infinity ? 0 : now - since;
  }

  /**
   * The route answer, from the cached view alone (never an etcd read, however many requests).
   * While etcd is unreachable the view is the picture from before the outage: streams in it are
   * still routed from it (their nodes and relays keep running; refusing would turn a control-plane
   * outage into one for every new viewer), with `viewAgeMs` saying how old it may be; a stream
   * not in it (started since, or never live) gets a 503 naming etcd rather than a 404, because
   * this node cannot tell. When etcd is back the watch catches up and answers are current again.
   */
  route(app: string, key: string, region: string | undefined, avoid?: string): RouteAnswer {
    const path = `${app}/${key}`;
    const down = this.etcdUnreachableMs();
    const owner = this.view.owners.get(path);
    if (down > 0 && !owner) return { ok: false, status: 503, error: `etcd unreachable for ${(down / 1000).toFixed(1)} s: this node's cluster view is from before and does not know ${path} (a stream that started since is routed once etcd is back)` };
    const c = chooseNode(this.view.nodes.values(), owner, path, region, this.cfg.stressCpu, avoid);
    if ('error' in c) return { ok: false, status: down > 0 ? 503 : c.status, error: down > 0 ? `etcd unreachable for ${(down / 1000).toFixed(1)} s: ${c.error}` : c.error };
    const n = c.node;
    return { ok: true, node: n.id, region: n.region, httpBase: `http://${hostPart(n.host)}:${n.httpPort}`, transport: `tributary://${hostPart(n.host)}:${n.transportPort}/${app}/${key}?fp=${n.fp}`, owner: c.owner, ...(down > 0 ? { viewAgeMs: Math.round(down) } : {}) };
  }

  private record(): NodeRecord {
    const carrying: string[] = [];
    const publishing: string[] = [];
    let viewers = 0;
    let streams = 0;
    let egressKbps = 0;
    for (const s of this.server.registry.streams()) {
      viewers += s.subscribers.size;
      if (!s.isLive) continue;
      streams++;
      egressKbps += s.rates().kbps * s.subscribers.size;
      if (carrying.length < MAX_CARRIED) carrying.push(s.path);
      const local = [s.publisher, s.standby].some((p) => p !== undefined && p.protocol !== 'relay');
      if (s.options.backup && local && publishing.length < MAX_CARRIED) publishing.push(s.path);
    }
    const load: NodeLoad = { cpu: this.cpuCores(), egressMbps: Math.round(egressKbps / 10) / 100, viewers, streams };
    return { id: this.cfg.nodeId, region: this.cfg.region, host: this.host, httpPort: this.addresses.httpPort, transportPort: this.addresses.transportPort, fp: this.server.transport.fingerprint ?? '', load, carrying, ...(publishing.length ? { publishing } : {}) };
  }

  /** CPU cores this process used since the last reading (readings are a second apart). */
  private cpuCores(): number {
    const now = performance.now();
    const usage = process.cpuUsage();
    const dt = now - this.cpu.at;
    if (dt >= 500) {
      const used = (usage.user - this.cpu.usage.user + usage.system - this.cpu.usage.system) / 1000;
      this.cpu = { at: now, usage, cores: Math.round((used / dt) * 1000) / 1000 };
    }
    return this.cpu.cores;
  }
}

function parseUpstream(u: string | undefined): { node: string; host?: string; port?: number } | undefined {
  if (!u) return undefined;
  const [node, addr] = u.split('@') as [string, string | undefined];
  if (!addr) return { node };
  const i = addr.lastIndexOf(':');
  return { node, host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
