import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Processing } from '../../processing/Processing.js';
import type { Registry } from '../../server/Registry.js';
import type { Logger } from '../../server/log.js';
import type { ClusterNode } from '../ClusterNode.js';
import { handleClusterJobsApi } from './jobsApi.js';
import { JobPlacement } from './JobPlacement.js';

/** A node's cluster jobs: the placement, and the /api/jobs and /api/mixes handler that replaces the single node's while it runs. */
export interface ClusterJobs {
  readonly placement: JobPlacement;
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/** Starts job placement on a node that joined a cluster (src/node/createNode.ts calls it after ClusterNode.start). */
export async function startClusterJobs(cluster: ClusterNode, processing: Processing, registry: Registry, logger: Logger): Promise<ClusterJobs> {
  const placement = new JobPlacement({
    client: cluster.client, membership: cluster.membership, view: cluster.view, relays: cluster.relays, registry,
    jobs: processing.jobs, self: cluster.nodeId, logger: logger.child({ component: 'cluster-jobs', node: cluster.nodeId }),
    etcdUnreachableMs: () => cluster.etcdUnreachableMs(),
  });
  await placement.start();
  return {
    placement,
    handle: (req, res) => void handleClusterJobsApi(placement, processing.api, cluster.nodeId, req, res).catch(() => undefined),
    close: () => placement.close(),
  };
}
