/**
 * A node's picture of the cluster: every node record and every stream owner, kept current by
 * one etcd watch on the prefix. Route answers and relay decisions read this cache, never etcd,
 * so a flood of route requests costs no etcd read, and when etcd is unreachable the last picture
 * stays (running streams and relays carry on; the watch resumes from its revision when etcd returns).
 */
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { EnhancedEmitter } from '../util/EnhancedEmitter.js';
import { JOBS, NODES, PREFIX, parseNodeRecord, parseOwnerRecord, streamPathOf, type NodeRecord } from './keys.js';

export interface Owner {
  node: string;
  /** The stream key's mod revision: the fencing token. */
  token: number;
}

export type ClusterViewEvents = {
  /** The owner of "app/key" changed (undefined: the key is gone, its owner's lease ended). */
  owner: [path: string, owner: Owner | undefined];
  node: [id: string, record: NodeRecord | undefined];
};

export class ClusterView extends EnhancedEmitter<ClusterViewEvents> {
  readonly nodes = new Map<string, NodeRecord>();
  readonly owners = new Map<string, Owner>();
  /** The newest token seen per stream, kept after the key goes: an older one is stale forever. */
  private readonly newest = new Map<string, number>();
  /** Records under the prefix that did not parse (written by something else): ignored, counted. */
  badRecords = 0;
  /** performance.now() since which the watch is down (undefined: connected): the view may be behind etcd since then. */
  disconnectedSince: number | undefined;
  /** Times the watch stream broke (an etcd member died, or all of them). */
  disconnects = 0;
  private watcher: Watcher | undefined;

  constructor(private readonly client: Etcd3) {
    super();
  }

  /** Reads everything once, then follows changes from the revision after that read. */
  async start(): Promise<void> {
    const r = await this.client.getAll().prefix(PREFIX).exec();
    for (const kv of r.kvs) this.onPut(kv);
    const next = String(Number(r.header.revision) + 1);
    this.watcher = await this.client.watch().prefix(PREFIX).startRevision(next).create();
    this.watcher.on('put', (kv) => this.onPut(kv));
    this.watcher.on('delete', (kv) => this.onDelete(kv));
    // The client reconnects by itself (resuming after the last revision seen); errors must not crash the node.
    this.watcher.on('error', () => undefined);
    this.watcher.on('disconnected', () => {
      this.disconnects++;
      this.disconnectedSince ??= performance.now();
    });
    this.watcher.on('connected', () => (this.disconnectedSince = undefined));
  }

  async close(): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
  }

  /** The newest fencing token seen for "app/key" (0: none yet). */
  newestToken(path: string): number {
    return this.newest.get(path) ?? 0;
  }

  private onPut(kv: IKeyValue): void {
    const k = kv.key.toString();
    // Jobs have a watch of their own (jobs/JobPlacement.ts).
    if (k.startsWith(JOBS)) return;
    const v = kv.value.toString();
    if (k.startsWith(NODES)) {
      const rec = parseNodeRecord(v);
      if (!rec) return void this.badRecords++;
      this.nodes.set(rec.id, rec);
      this.safeEmit('node', rec.id, rec);
      return;
    }
    const path = streamPathOf(k);
    const rec = path ? parseOwnerRecord(v) : undefined;
    if (!path || !rec) return void this.badRecords++;
    const token = Number(kv.mod_revision);
    // A watch never goes back in revisions, but a reconnect may replay: keep the newest.
    if (token < this.newestToken(path)) return;
    this.newest.set(path, token);
    const owner = { node: rec.node, token };
    this.owners.set(path, owner);
    this.safeEmit('owner', path, owner);
  }

  private onDelete(kv: IKeyValue): void {
    const k = kv.key.toString();
    if (k.startsWith(NODES)) {
      const id = k.slice(NODES.length);
      if (this.nodes.delete(id)) this.safeEmit('node', id, undefined);
      return;
    }
    const path = streamPathOf(k);
    if (!path) return;
    // A delete's kv carries the delete's revision: only a delete newer than the owner we know ends it.
    if (Number(kv.mod_revision) !== 0 && Number(kv.mod_revision) < this.newestToken(path)) return;
    if (this.owners.delete(path)) this.safeEmit('owner', path, undefined);
  }
}
