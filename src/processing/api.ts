import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JobManager } from './JobManager.js';
import { ApiError, type ProcessingJob } from './ProcessingJob.js';
import { checkApiAccess } from '../server/http/apiAccess.js';

/*
 * /api/jobs and /api/mixes: POST (create), GET (list or one), PATCH (a live change), DELETE.
 * Behind the same gate as the rest of the API (apiAccess.ts). Bodies are JSON, at most
 * MAX_BODY bytes, read within BODY_TIMEOUT_MS; every refusal is a 4xx with a JSON
 * `{error, problems?}` naming what was wrong.
 */

/** Paths this handler answers; HttpServer routes them here (mountProcessing) before its GET-only checks. */
export const PROCESSING_PATH = /^\/api\/(jobs|mixes)(\/[A-Za-z0-9_.-]{1,64})?\/?(\?.*)?$/;
const MAX_BODY = 64 << 10;
const BODY_TIMEOUT_MS = 10_000;

export interface ProcessingApiDeps {
  jobs: JobManager;
  /** Builds a transcode job from a POST body (throws ApiError 400 for a bad spec). */
  transcode: (body: unknown, id: string | undefined) => (jobId: string) => ProcessingJob;
  /** The same for a mix. */
  mix: (body: unknown) => { id: string | undefined; make: (jobId: string) => ProcessingJob };
  apiToken: string | undefined;
}

export function reply(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
  res.end(body);
}

export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY) return reject(new ApiError(413, `body larger than ${MAX_BODY} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => fail(new ApiError(408, `body not received within ${BODY_TIMEOUT_MS} ms`)), BODY_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      req.removeAllListeners('data');
      req.resume();
      reject(err);
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) return fail(new ApiError(413, `body larger than ${MAX_BODY} bytes`));
      chunks.push(c);
    });
    req.on('error', (err) => fail(err));
    req.on('end', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new ApiError(400, `body is not JSON: ${(err as Error).message}`));
      }
    });
  });
}

/**
 * The access check and the path of a /api/jobs or /api/mixes request (the single node's handler
 * and the cluster's, src/cluster/jobs/jobsApi.ts); undefined once a refusal has been answered.
 */
export function openJobsRequest(apiToken: string | undefined, req: IncomingMessage, res: ServerResponse): { mixes: boolean; id: string | undefined; method: string } | undefined {
  const gate = checkApiAccess(apiToken, { remoteAddress: req.socket.remoteAddress, authorization: req.headers.authorization, cookie: req.headers.cookie });
  if (!gate.ok) {
    req.resume();
    reply(res, gate.status, { error: gate.message });
    return undefined;
  }
  const m = PROCESSING_PATH.exec(req.url ?? '')!;
  return { mixes: m[1] === 'mixes', id: m[2]?.slice(1), method: req.method ?? 'GET' };
}

export async function handleProcessingApi(deps: ProcessingApiDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const open = openJobsRequest(deps.apiToken, req, res);
    if (!open) return;
    const { mixes, id, method } = open;
    const kinds = mixes ? (['mix'] as const) : undefined;
    const own = (job: ProcessingJob) => {
      if (mixes !== (job.kind === 'mix')) throw new ApiError(404, `no ${mixes ? 'mix' : 'job'} ${id} here (it is a ${job.kind}: see /api/${job.kind === 'mix' ? 'mixes' : 'jobs'})`);
      return job;
    };
    if (id === undefined) {
      if (method === 'GET' || method === 'HEAD') return (req.resume(), reply(res, 200, { [mixes ? 'mixes' : 'jobs']: deps.jobs.list(kinds ? [...kinds] : undefined), maxJobs: deps.jobs.options.maxJobs }));
      if (method !== 'POST') throw new ApiError(405, `${method} is not allowed here (GET, POST)`);
      const body = await readJson(req);
      let job: ProcessingJob;
      if (mixes) {
        const { id: want, make } = deps.mix(body);
        job = deps.jobs.add(want, make, true);
      } else {
        const want = typeof body === 'object' && body !== null && typeof (body as { id?: unknown }).id === 'string' ? (body as { id: string }).id : undefined;
        job = deps.jobs.add(want, deps.transcode(body, want), true);
      }
      return reply(res, 201, job.info());
    }
    if (method === 'GET' || method === 'HEAD') return (req.resume(), reply(res, 200, own(deps.jobs.get(id)).info()));
    if (method === 'DELETE') {
      req.resume();
      own(deps.jobs.get(id));
      await deps.jobs.remove(id);
      return reply(res, 200, { deleted: id });
    }
    if (method === 'PATCH') {
      const body = await readJson(req);
      const job = own(deps.jobs.get(id));
      job.patch(body);
      return reply(res, 200, job.info());
    }
    throw new ApiError(405, `${method} is not allowed here (GET, PATCH, DELETE)`);
  } catch (err) {
    if (err instanceof ApiError) return reply(res, err.status, { error: err.message, ...(err.problems.length ? { problems: err.problems } : {}) });
    reply(res, 500, { error: 'internal error' });
    throw err;
  }
}
