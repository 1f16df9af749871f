/**
 * /api/jobs and /api/mixes on a node in a cluster: the same requests and answers as a single
 * node's (src/processing/api.ts), on the cluster's jobs in etcd (JobPlacement), each shown with
 * the `node` running it. Jobs only this node runs (its config's jobs, ladders) are answered by
 * the single-node handler as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleProcessingApi, openJobsRequest, readJson, reply, type ProcessingApiDeps } from '../../processing/api.js';
import { MixJob } from '../../processing/mix/MixJob.js';
import { ApiError } from '../../processing/ProcessingJob.js';
import { TranscodeJob } from '../../processing/TranscodeJob.js';
import type { JobPlacement } from './JobPlacement.js';

/** A POST answers once a node has claimed the job, or after this, ms (it is then shown with node null). */
const PLACE_WAIT_MS = 3000;

export async function handleClusterJobsApi(placement: JobPlacement, local: ProcessingApiDeps, self: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const open = openJobsRequest(local.apiToken, req, res);
    if (!open) return;
    const { mixes, id, method } = open;
    if (id !== undefined && !placement.specs.has(id) && local.jobs.jobs.has(id)) return await handleProcessingApi(local, req, res);
    const own = (i: { kind: string } | undefined) => {
      if (!i) throw new ApiError(404, `no ${mixes ? 'mix' : 'job'} ${id}`);
      if (mixes !== (i.kind === 'mix')) throw new ApiError(404, `no ${mixes ? 'mix' : 'job'} ${id} here (it is a ${i.kind}: see /api/${i.kind === 'mix' ? 'mixes' : 'jobs'})`);
    };
    if (id === undefined) {
      if (method === 'GET' || method === 'HEAD') {
        req.resume();
        const kinds = mixes ? (['mix'] as const) : undefined;
        const cluster = placement.list(kinds ? [...kinds] : undefined);
        const here = local.jobs.list(kinds ? [...kinds] : undefined).filter((j) => !placement.specs.has(j.id)).map((j) => ({ ...j, node: self }));
        return reply(res, 200, { [mixes ? 'mixes' : 'jobs']: [...cluster, ...here], maxJobs: local.jobs.options.maxJobs, node: self, counters: placement.stats });
      }
      if (method !== 'POST') throw new ApiError(405, `${method} is not allowed here (GET, POST)`);
      const body = await readJson(req);
      let jobId: string;
      if (mixes) {
        const spec = MixJob.parse(body);
        jobId = await placement.create({ kind: 'mix', spec }, spec.id);
      } else {
        const spec = TranscodeJob.parse(body);
        jobId = await placement.create({ kind: 'transcode', spec }, spec.id);
      }
      const until = Date.now() + PLACE_WAIT_MS;
      while (!placement.owners.has(jobId) && placement.specs.has(jobId) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      return reply(res, 201, placement.info(jobId) ?? { id: jobId, node: null });
    }
    if (method === 'GET' || method === 'HEAD') {
      req.resume();
      const i = placement.info(id);
      own(i);
      return reply(res, 200, i);
    }
    if (method === 'DELETE') {
      req.resume();
      own(placement.info(id));
      const r = await placement.remove(id);
      return reply(res, 200, { deleted: id, node: r.node, stopped: r.stopped });
    }
    if (method === 'PATCH') {
      const body = await readJson(req);
      own(placement.info(id));
      await placement.patch(id, body);
      return reply(res, 200, placement.info(id));
    }
    throw new ApiError(405, `${method} is not allowed here (GET, PATCH, DELETE)`);
  } catch (err) {
    if (err instanceof ApiError) return reply(res, err.status, { error: err.message, ...(err.problems.length ? { problems: err.problems } : {}) });
    // etcd did not answer (a deadline, no leader): the request could not be carried out.
    reply(res, 503, { error: `cluster: etcd did not answer: ${(err as Error).message}` });
  }
}
