import type { Logger } from '../server/log.js';
import type { Registry } from '../server/Registry.js';
import type { RenditionSpec } from './JobSpec.js';
import { ladderSpec, renditionKey } from './ladder/ladderSpec.js';
import { ApiError, type JobInfo, type ProcessingJob } from './ProcessingJob.js';
import { TranscodeJob, type JobDeps } from './TranscodeJob.js';

export interface JobManagerOptions {
  /** Jobs this node runs at most (API, config and ladders together): a flood of requests cannot take every core. */
  maxJobs: number;
  ffmpeg?: string;
  /** Per app: the renditions every live stream of it gets (`apps.<name>.ladder`). */
  ladders: Record<string, readonly RenditionSpec[]>;
  /** See JobDeps. */
  firstFrameTimeoutMs?: number;
}

/** How often the manager looks for inputs that became live and ladder sources without a job, ms. */
const SCAN_MS = 250;

let nextId = 1;

/**
 * The jobs of one node: it bounds their number, starts ladders for the streams of apps that
 * have one, restarts jobs whose input stream came back, and answers the API.
 */
export class JobManager {
  readonly jobs = new Map<string, ProcessingJob>();
  /** Ladder jobs by their source stream's path. */
  private readonly ladders = new Map<string, ProcessingJob>();
  private readonly timer: NodeJS.Timeout;
  private readonly deps: JobDeps;
  private closed = false;
  /** Sources whose ladder was refused (the bound), so the warning is logged once. */
  private readonly refused = new Set<string>();

  constructor(
    private readonly registry: Registry,
    private readonly logger: Logger,
    readonly options: JobManagerOptions,
  ) {
    this.deps = { registry, logger: logger.child({ component: 'jobs' }), ffmpeg: options.ffmpeg, firstFrameTimeoutMs: options.firstFrameTimeoutMs };
    this.timer = setInterval(() => this.scan(), SCAN_MS);
    this.timer.unref();
  }

  get jobDeps(): JobDeps {
    return this.deps;
  }

  /** Every stream some job publishes. */
  outputsInUse(): Set<string> {
    const s = new Set<string>();
    for (const j of this.jobs.values()) for (const o of j.outputs) s.add(o);
    return s;
  }

  /**
   * Adds a job made by `make` after the checks every kind shares: the bound, a free id, outputs
   * no other job or publisher holds, inputs that exist (`requireLiveInputs`, for the API).
   */
  add(id: string | undefined, make: (id: string) => ProcessingJob, requireLiveInputs: boolean): ProcessingJob {
    if (this.closed) throw new ApiError(503, 'server shutting down');
    if (this.jobs.size >= this.options.maxJobs) throw new ApiError(429, `this node runs at most ${this.options.maxJobs} jobs (processing.maxJobs); ${this.jobs.size} are running`);
    const jobId = id ?? `job-${nextId++}`;
    if (this.jobs.has(jobId)) throw new ApiError(409, `a job named ${jobId} exists`);
    const job = make(jobId);
    const taken = this.outputsInUse();
    for (const out of job.outputs) {
      if (taken.has(out)) throw new ApiError(409, `output ${out} is published by another job`);
      const [app, key] = out.split('/') as [string, string];
      if (this.registry.find(app, key)?.isLive) throw new ApiError(409, `output ${out} is already being published`);
      if (job.inputStreams.includes(out)) throw new ApiError(422, `output ${out} is also an input`);
    }
    if (requireLiveInputs) {
      for (const input of job.inputStreams) {
        const [app, key] = input.split('/') as [string, string];
        if (!this.registry.find(app, key)?.isLive) throw new ApiError(422, `input ${input} is not a live stream of this server`);
      }
    }
    this.jobs.set(jobId, job);
    job.start();
    return job;
  }

  get(id: string): ProcessingJob {
    const j = this.jobs.get(id);
    if (!j) throw new ApiError(404, `no job ${id}`);
    return j;
  }

  list(kind?: JobInfo['kind'][]): JobInfo[] {
    const now = Date.now();
    return [...this.jobs.values()].filter((j) => !kind || kind.includes(j.kind)).map((j) => j.info(now));
  }

  async remove(id: string): Promise<void> {
    const j = this.get(id);
    this.jobs.delete(id);
    for (const [src, l] of this.ladders) if (l === j) this.ladders.delete(src);
    await j.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([...this.jobs.values()].map((j) => j.close()));
    this.jobs.clear();
    this.ladders.clear();
  }

  /** Restarts waiting jobs whose input is live; starts and ends ladders with their sources. */
  scan(): void {
    if (this.closed) return;
    for (const j of this.jobs.values()) if (j.state === 'waiting') j.start();
    const outputs = this.outputsInUse();
    for (const [app, rungs] of Object.entries(this.options.ladders)) {
      if (rungs.length === 0) continue;
      for (const s of this.registry.apps.get(app)?.streams.values() ?? []) {
        // A rendition is itself a stream of the app: it gets no ladder of its own.
        if (!s.isLive || !s.videoConfig || outputs.has(s.path) || this.ladders.has(s.path) || s.publisher?.protocol === 'job') continue;
        if (rungs.some((r) => this.registry.find(app, renditionKey(s.key, r.name))?.isLive)) continue;
        try {
          const job = this.add(`ladder-${app}-${s.key}`, (id) => new TranscodeJob(id, ladderSpec(s.path, rungs), this.deps, 'ladder'), false);
          this.ladders.set(s.path, job);
          this.refused.delete(s.path);
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          // Retried each scan (a job may end and make room); logged once.
          if (!this.refused.has(s.path)) this.logger.warn({ stream: s.path, reason: err.message }, 'ladder not started');
          this.refused.add(s.path);
        }
      }
    }
    // A ladder whose source stream is gone (closed after its grace) goes with it.
    for (const [src, job] of [...this.ladders]) {
      const [app, key] = src.split('/') as [string, string];
      if (!this.registry.find(app, key)) void this.remove(job.id).catch(() => undefined);
    }
  }

  /** The renditions of a stream that has a ladder, best first (for ?quality=auto and the multivariant playlist). */
  /** The source key whose ladder `key` belongs to (`key` itself for a source, or one of its renditions), if any. */
  ladderSourceOf(app: string, key: string): string | undefined {
    if (this.ladders.has(`${app}/${key}`)) return key;
    for (const r of this.options.ladders[app] ?? []) {
      const suffix = renditionKey('', r.name);
      if (key.endsWith(suffix) && this.ladders.has(`${app}/${key.slice(0, -suffix.length)}`)) return key.slice(0, -suffix.length);
    }
    return undefined;
  }

  renditionsOf(app: string, key: string): Array<{ name: string; path: string; key: string; kbps: number; height: number }> {
    const rungs = this.options.ladders[app];
    if (!rungs || !this.ladders.has(`${app}/${key}`)) return [];
    return [...rungs].sort((a, b) => b.kbps - a.kbps).map((r) => ({ name: r.name, key: renditionKey(key, r.name), path: `${app}/${renditionKey(key, r.name)}`, kbps: r.kbps, height: r.height }));
  }
}
