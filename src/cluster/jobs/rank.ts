/**
 * Which live node should run a job nobody runs (pure: from the view and the owner keys alone).
 * Least loaded first:
 *   1. fewest cluster jobs running (counted from the owner keys, so a claim a moment ago counts
 *      at once; the record's CPU is this node process's own and leaves out its ffmpeg children);
 *   2. least CPU, in tenths of a core (finer differences are noise between two readings);
 *   3. fewest viewers plus live streams;
 *   4. node id, so every node computes the same order.
 * Nodes already at `maxJobs` are left out.
 */
import type { NodeRecord } from '../keys.js';

export function rankNodes(nodes: Iterable<NodeRecord>, jobsOf: (node: string) => number, maxJobs: number): NodeRecord[] {
  const key = (n: NodeRecord) => [jobsOf(n.id), Math.floor(num(n.load.cpu) * 10), num(n.load.viewers) + num(n.load.streams)];
  return [...nodes]
    .filter((n) => jobsOf(n.id) < maxJobs)
    .map((n) => ({ n, k: key(n) }))
    .sort((a, b) => a.k[0]! - b.k[0]! || a.k[1]! - b.k[1]! || a.k[2]! - b.k[2]! || (a.n.id < b.n.id ? -1 : a.n.id > b.n.id ? 1 : 0))
    .map((x) => x.n);
}

/** A load figure from another node's record (parsed from etcd, so possibly anything): non-numbers count as 0. */
function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}
