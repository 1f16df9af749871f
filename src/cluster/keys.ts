/**
 * Where the cluster keeps its state in etcd. Everything sits under one prefix so a node needs
 * one watch to follow all of it:
 *   tributary/nodes/NODE          -> NodeRecord JSON, bound to the node's lease (TTL ~2 s)
 *   tributary/streams/APP/KEY     -> OwnerRecord JSON, bound to the owner's lease
 *   tributary/jobs/...            -> processing jobs (jobs/jobKeys.ts), followed by their own watch
 * A stream key's mod revision is its fencing token: etcd makes it grow with every change of
 * owner, so a larger token is always the newer owner, whatever the nodes' clocks say.
 */
export const PREFIX = 'tributary/';
export const NODES = `${PREFIX}nodes/`;
export const STREAMS = `${PREFIX}streams/`;
export const JOBS = `${PREFIX}jobs/`;

export function nodeKey(node: string): string {
  return `${NODES}${node}`;
}

export function streamKey(app: string, key: string): string {
  return `${STREAMS}${app}/${key}`;
}

/** "app/key" of a stream key, or undefined for anything else under the prefix. */
export function streamPathOf(etcdKey: string): string | undefined {
  if (!etcdKey.startsWith(STREAMS)) return undefined;
  const path = etcdKey.slice(STREAMS.length);
  return /^[^/]+\/[^/]+$/.test(path) ? path : undefined;
}

/** What a node publishes about itself, refreshed every second. */
export interface NodeRecord {
  id: string;
  region: string;
  /** Address viewers and other nodes reach it on. */
  host: string;
  httpPort: number;
  transportPort: number;
  /** The transport key's fingerprint: relays pin it, so only that node can answer for itself. */
  fp: string;
  load: NodeLoad;
  /** "app/key" of streams it has live (published or relayed), at most MAX_CARRIED. */
  carrying: string[];
  /**
   * Main/backup: "app/key" of streams in apps with backups that a publisher on this node feeds
   * or stands by for, at most MAX_CARRIED. Edges keep a standby relay from such a node.
   */
  publishing?: string[];
}

export interface NodeLoad {
  /** CPU time over the last second, in cores (1 = one core busy). */
  cpu: number;
  egressMbps: number;
  viewers: number;
  streams: number;
}

export const MAX_CARRIED = 200;

export interface OwnerRecord {
  node: string;
}

/** Parses a record from etcd; undefined when it is not what the cluster writes (never trusted blindly). */
export function parseNodeRecord(text: string): NodeRecord | undefined {
  try {
    const r = JSON.parse(text) as NodeRecord;
    if (typeof r.id !== 'string' || typeof r.host !== 'string' || !Number.isInteger(r.httpPort) || !Number.isInteger(r.transportPort) || typeof r.fp !== 'string') return undefined;
    if (typeof r.load !== 'object' || r.load === null || !Array.isArray(r.carrying)) return undefined;
    return r;
  } catch {
    return undefined;
  }
}

export function parseOwnerRecord(text: string): OwnerRecord | undefined {
  try {
    const r = JSON.parse(text) as OwnerRecord;
    return typeof r.node === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** `etcd://h1:p1,h2:p2` -> ['http://h1:p1', 'http://h2:p2'] for the etcd3 client. */
export function etcdHosts(url: string): string[] {
  const m = /^etcd:\/\/(.+)$/.exec(url);
  if (!m) throw new Error(`not an etcd:// URL: ${url}`);
  return m[1]!.split(',').map((h) => `http://${h}`);
}
