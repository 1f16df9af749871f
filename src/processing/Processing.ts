import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../server/log.js';
import type { Registry } from '../server/Registry.js';
import type { Stream } from '../server/Stream.js';
import { handleProcessingApi, PROCESSING_PATH, type ProcessingApiDeps } from './api.js';
import type { ProcessingConfig } from './config.js';
import { JobManager } from './JobManager.js';
import type { RenditionSpec } from './JobSpec.js';
import { AutoQuality } from './ladder/AutoQuality.js';
import { renderMultivariant } from './ladder/multivariant.js';
import { MixJob } from './mix/MixJob.js';
import { TranscodeJob } from './TranscodeJob.js';

/** What Processing reads of a node's config (src/node/config.ts). */
export interface ProcessingSettings {
  processing: ProcessingConfig;
  apps: Record<string, { ladder?: RenditionSpec[] | undefined }>;
  api: { token?: string | undefined };
}

const TOKEN = /^[A-Za-z0-9_.~:\-]{1,512}$/;

/**
 * The server's processing part in one object: the job manager, the API's factories, the
 * `?quality=` choice for FLV viewers and the multivariant playlist. src/node/createNode.ts
 * makes one and plugs these into the server's HTTP listener.
 */
export class Processing {
  readonly jobs: JobManager;
  /** Live `?quality=auto` viewers' switchers (tests and the API read them). */
  readonly autos = new Set<AutoQuality>();
  readonly api: ProcessingApiDeps;

  constructor(
    private readonly registry: Registry,
    logger: Logger,
    private readonly config: ProcessingSettings,
  ) {
    const ladders: Record<string, RenditionSpec[]> = {};
    for (const [app, a] of Object.entries(config.apps)) if (a.ladder?.length) ladders[app] = a.ladder;
    this.jobs = new JobManager(registry, logger, { maxJobs: config.processing.maxJobs, ffmpeg: config.processing.ffmpeg, ladders });
    this.api = {
      jobs: this.jobs,
      apiToken: config.api.token,
      transcode: (body) => {
        const spec = TranscodeJob.parse(body);
        return (id) => new TranscodeJob(id, spec, this.jobs.jobDeps);
      },
      mix: (body) => {
        const spec = MixJob.parse(body);
        return { id: spec.id, make: (id) => new MixJob(id, spec, this.jobs.jobDeps) };
      },
    };
  }

  /** Starts the config's jobs and mixes (they wait for their input streams). */
  start(): void {
    for (const spec of this.config.processing.jobs) this.jobs.add(spec.id, (id) => new TranscodeJob(id, spec, this.jobs.jobDeps), false);
    for (const spec of this.config.processing.mixes) this.jobs.add(spec.id, (id) => new MixJob(id, spec, this.jobs.jobDeps), false);
  }

  /** Whether a request is for the API (/api/jobs, /api/mixes). */
  static matchesApi(url: string | undefined): boolean {
    return PROCESSING_PATH.test(url ?? '');
  }

  handleApi(req: IncomingMessage, res: ServerResponse): void {
    handleProcessingApi(this.api, req, res).catch(() => undefined);
  }

  /**
   * What a viewer of `stream` (FLV's `?quality=`, a transport player's hello) is fed: `auto` a
   * switcher among its renditions, driven by how fast that viewer drains; a rendition's name
   * that rendition; else (`source`, unknown, or no ladder) the stream itself.
   */
  viewerSource(stream: Stream, q: string | null): Stream {
    if (q === null || q === 'source') return stream;
    const live = this.liveRenditions(stream);
    if (live.length === 0) return stream;
    if (q !== 'auto') return live.find((r) => r.name === q)?.stream ?? stream;
    const auto = new AutoQuality(live, 0);
    this.autos.add(auto);
    auto.out.once('close', () => this.autos.delete(auto));
    return auto.out;
  }

  /**
   * Every HLS request for a ladder's source or one of its renditions keeps all of its
   * renditions packaged (`touch` starts a stream's LL-HLS packager, or keeps it from going
   * idle): a packager starts on its first request, from the current GOP, so a player that
   * switches down would otherwise wait for the lower rendition's first parts to be made, at
   * the moment its buffer is lowest. Packaged from the start, the rendition's playlist has its
   * parts (and the same segment numbers: the same keyframes cut them) when the player comes.
   */
  warmLadder(app: string, key: string, touch: (key: string) => void): void {
    const source = this.jobs.ladderSourceOf(app, key);
    if (source === undefined) return;
    for (const r of this.jobs.renditionsOf(app, source)) if (r.key !== key) touch(r.key);
  }

  /** The other live renditions of the ladder app/key is part of (for its playlist's rendition reports). */
  renditionsBeside(app: string, key: string): string[] {
    const source = this.jobs.ladderSourceOf(app, key);
    const s = source === undefined ? undefined : this.registry.find(app, source);
    return s ? this.liveRenditions(s).map((r) => r.stream.key).filter((k) => k !== key) : [];
  }

  /** Answers /APP/KEY/master.m3u8; false when the stream has no live ladder (the caller 404s). */
  serveMaster(req: IncomingMessage, res: ServerResponse, app: string, key: string): boolean {
    const s = this.registry.find(app, key);
    const live = s ? this.liveRenditions(s) : [];
    if (live.length === 0) return false;
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
    const query = token !== null && TOKEN.test(token) ? `?token=${encodeURIComponent(token)}` : '';
    const body = renderMultivariant(live.map((r) => ({ key: r.stream.key, stream: r.stream, kbps: r.kbps })), query);
    // Access-Control-Allow-Origin: the HTTP server set http.corsOrigin before the hook ran.
    res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  close(): Promise<void> {
    for (const a of [...this.autos]) a.close();
    return this.jobs.close();
  }

  /** The stream's renditions that are live with a video config, best first. */
  private liveRenditions(stream: Stream): Array<{ name: string; stream: Stream; kbps: number }> {
    return this.jobs.renditionsOf(stream.app, stream.key)
      .map((r) => ({ name: r.name, stream: this.registry.find(stream.app, r.key), kbps: r.kbps }))
      .filter((r): r is { name: string; stream: Stream; kbps: number } => r.stream !== undefined && r.stream.isLive && r.stream.videoConfig !== undefined);
  }
}
