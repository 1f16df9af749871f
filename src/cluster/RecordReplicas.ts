/**
 * Second recordings in a cluster (an app's `record.replicas` >= 2): besides the owner, which
 * records its publisher's stream, `replicas - 1` other nodes relay the stream and record it
 * too, so losing a node loses no original. They are chosen from the view alone (no etcd
 * writes): nodes in the owner's region first, then the others, each group ordered by a hash
 * of stream and node (rendezvous hashing), so every node agrees without talking and a node
 * joining or leaving moves only the streams it wins or held.
 *
 * The relayed stream's recording is a subscriber, so the relay stays open while it records;
 * when the publisher moves to the replica's node (a backup, a reconnect) the local publisher
 * replaces the relay in the same Stream, and the recording carries on in the same index.
 */
import { createHash } from 'node:crypto';
import type { Registry } from '../server/Registry.js';
import type { ClusterView } from './ClusterView.js';
import type { NodeRecord } from './keys.js';
import type { Relays } from './Relays.js';

/** How often the choice is looked at again besides the view's events (a fetch that timed out). */
const RECHECK_MS = 2000;

/** The nodes other than the owner that record "app/key", best first. */
export function replicaNodes(path: string, owner: string, nodes: Iterable<NodeRecord>, count: number): string[] {
  const all = [...nodes];
  const ownerRegion = all.find((n) => n.id === owner)?.region;
  const score = (id: string) => createHash('sha256').update(`${path}\n${id}`).digest().readUInt32BE(0);
  return all
    .filter((n) => n.id !== owner)
    .map((n) => ({ id: n.id, near: n.region === ownerRegion ? 0 : 1, score: score(n.id) }))
    .sort((a, b) => a.near - b.near || b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, Math.max(0, count))
    .map((n) => n.id);
}

export class RecordReplicas {
  private readonly timer: NodeJS.Timeout;
  private readonly fetching = new Set<string>();

  constructor(
    private readonly o: {
      registry: Registry;
      view: ClusterView;
      relays: Relays;
      self: string;
      /** The app's record.replicas, or 0 when the app does not record. */
      replicas(app: string): number;
    },
  ) {
    o.view.on('owner', (path) => this.check(path));
    o.view.on('node', () => this.checkAll());
    this.timer = setInterval(() => this.checkAll(), RECHECK_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Whether this node is one of the stream's replicas now (the Recorder asks before recording a relay). */
  isReplica(path: string): boolean {
    const owner = this.o.view.owners.get(path);
    const n = this.o.replicas(path.split('/')[0]!);
    return owner !== undefined && owner.node !== this.o.self && n >= 2 && replicaNodes(path, owner.node, this.o.view.nodes.values(), n - 1).includes(this.o.self);
  }

  private checkAll(): void {
    for (const path of this.o.view.owners.keys()) this.check(path);
  }

  private check(path: string): void {
    const owner = this.o.view.owners.get(path);
    if (!owner || owner.node === this.o.self || this.fetching.has(path)) return;
    const [app, key] = path.split('/') as [string, string];
    if (!this.isReplica(path) || this.o.registry.find(app, key)?.isLive) return;
    this.fetching.add(path);
    void this.o.relays.fetch(app, key).catch(() => undefined).finally(() => this.fetching.delete(path));
  }
}
