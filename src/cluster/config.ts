import { z } from 'zod';
import type { TextSetting } from '../server/config.js';
import { isValidName } from '../server/Registry.js';
import { parseCidr } from './addressRegions.js';

/** Cluster membership (`serve --cluster`): the config's `cluster` section; absent, a single node. */
export const ClusterConfig = z.strictObject({
  /** etcd endpoints, `etcd://HOST:PORT[,HOST:PORT...]`. */
  etcd: z.string().regex(/^etcd:\/\/[^\s,]+(,[^\s,]+)*$/, 'must be etcd://HOST:PORT[,HOST:PORT...]'),
  nodeId: z.string().refine(isValidName, 'node ids use A-Z a-z 0-9 _ . - ~ (1..128)'),
  region: z.string().refine(isValidName, 'regions use A-Z a-z 0-9 _ . - ~ (1..128)').default('default'),
  /** Shared by every node: authenticates relay sessions between nodes. */
  secret: z.string().min(16, 'must be at least 16 characters'),
  /** The address other nodes and viewers reach this node on (default: host, or 127.0.0.1 for 0.0.0.0). */
  advertiseHost: z.string().min(1).optional(),
  /** A request header a geo-aware proxy sets to the viewer's region (route answers prefer it). */
  regionHeader: z.string().min(1).default('x-tributary-region'),
  /**
   * The viewer's region from its address when the header is absent: `[{cidr, region}]`, the
   * longest matching prefix wins (an ISP's prefixes can name a region of their own).
   */
  addressRegions: z
    .array(z.strictObject({
      cidr: z.string().refine((c) => parseCidr(c) !== undefined, 'must be ADDRESS/LENGTH (IPv4 or IPv6)'),
      region: z.string().refine(isValidName, 'regions use A-Z a-z 0-9 _ . - ~ (1..128)'),
    }))
    .max(1_000_000)
    .default([]),
  /**
   * A parent for this node's relays: `NODE` or `NODE@HOST:PORT` (reached through that
   * address: a tunnel, or the link emulator in a bench). Relays come from the parent while it
   * is alive (a tree origin -> regional edge -> edge), else from the owner.
   */
  upstream: z.string().regex(/^[A-Za-z0-9_.\-~]{1,128}(@[^\s@]+:\d{1,5})?$/, 'must be NODE or NODE@HOST:PORT').optional(),
  /** A node above this CPU (fraction of one core) is skipped by routing while others are not. */
  stressCpu: z.number().min(0.05).max(64).default(0.85),
});
export type ClusterConfig = z.output<typeof ClusterConfig>;

/** The cluster's settings that flags and the environment give (server/config.ts, TEXT_SETTINGS). */
export const CLUSTER_TEXT_SETTINGS: readonly TextSetting[] = [
  { name: 'cluster.etcd', type: 'string', flag: '--cluster', env: 'TRIBUTARY_CLUSTER' },
  { name: 'cluster.nodeId', type: 'string', flag: '--node-id', env: 'TRIBUTARY_NODE_ID' },
  { name: 'cluster.region', type: 'string', flag: '--region', env: 'TRIBUTARY_REGION' },
  { name: 'cluster.upstream', type: 'string', flag: '--upstream', env: 'TRIBUTARY_UPSTREAM' },
  { name: 'cluster.advertiseHost', type: 'string', flag: '--advertise-host', env: 'TRIBUTARY_ADVERTISE_HOST' },
  // No flag for the secret (ps shows command lines).
  { name: 'cluster.secret', type: 'string', env: 'TRIBUTARY_CLUSTER_SECRET' },
];
