import { ClusterNode } from '../cluster/ClusterNode.js';
import { startClusterJobs, type ClusterJobs } from '../cluster/jobs/clusterJobs.js';
import { addP2pMetrics } from '../p2pedge/metrics.js';
import { P2pService } from '../p2pedge/P2pService.js';
import { Processing } from '../processing/Processing.js';
import { addRecordingMetrics } from '../recording/metrics.js';
import { Recorder } from '../recording/Recorder.js';
import type { Logger } from '../server/log.js';
import { Server, type ServerAddresses } from '../server/Server.js';
import type { Config } from './config.js';

/**
 * A whole `tributary serve` process: the Server and the parts built on it, wired together
 * here so that no part's folder imports another's and the server imports none of them.
 */
export interface MediaNode {
  readonly server: Server;
  /** Jobs, ladders and mixes (src/processing/), and their API. */
  readonly processing: Processing;
  /** Recording of the apps that have `record` on (src/recording/), and GET /api/recordings. */
  readonly recorder: Recorder;
  /** P2P delivery among viewers (src/p2pedge/); undefined unless config.p2p is set and enabled. */
  readonly p2p: P2pService | undefined;
  /** The cluster membership once `start()` joined one (config.cluster set); else undefined. */
  readonly cluster: ClusterNode | undefined;
  /** Starts the server, then the parts (and joins the cluster); resolves with the bound ports. */
  start(): Promise<ServerAddresses>;
  /** Leaves the cluster, stops the jobs, ends the streams, finishes the recordings. Idempotent. */
  close(): Promise<void>;
}

/** Builds a node from its config (src/node/config.ts); nothing listens until `start()`. */
export function createNode(config: Config, opts: { logger?: Logger } = {}): MediaNode {
  const server = new Server(config, opts);
  const { apps } = config;
  const recorder = new Recorder(server.registry, {
    settings: (app) => apps[app]?.record,
    templates: () => Object.values(apps).flatMap((a) => (a.record?.enabled ? [a.record.path] : [])),
    nodeId: config.cluster?.nodeId,
    logger: server.logger.child({ component: 'recording' }),
  });
  addRecordingMetrics(server.metrics.prom, recorder);
  server.http.mountRecordings(() => recorder.listAll());
  // After the streams end, so each recording gets its last frames (Recorder.close).
  server.use({ name: 'recording', close: () => recorder.close() });

  const processing = new Processing(server.registry, server.logger, config);
  // In a cluster, jobs made through the API are the cluster's (src/cluster/jobs/).
  let clusterJobs: ClusterJobs | undefined;
  server.http.mountProcessing({ matches: Processing.matchesApi, handle: (req, res) => (clusterJobs ? clusterJobs.handle(req, res) : processing.handleApi(req, res)) }, (stream, url) => processing.viewerSource(stream, url.searchParams.get('quality')));
  server.transport.viewerSource = (stream, quality) => processing.viewerSource(stream, quality);
  server.hls.renditionsBeside = (app, key) => processing.renditionsBeside(app, key);
  server.use({
    name: 'processing',
    start: () => processing.start(),
    stop: () => processing.close(),
    serveHls: (req, res, app, key, file) => {
      processing.warmLadder(app, key, (k) => server.hls.touch(app, k));
      return file.split('?')[0] === 'master.m3u8' && processing.serveMaster(req, res, app, key);
    },
  });

  let p2p: P2pService | undefined;
  if (config.p2p?.enabled) {
    const service = new P2pService(server.registry, config.auth, config.p2p, server.logger.child({ component: 'p2p' }));
    p2p = service;
    addP2pMetrics(server.metrics.prom, service);
    server.http.mountP2p({ matches: P2pService.matches, handle: (req, res) => service.handle(req, res), upgrade: (req, socket, head) => service.upgrade(req, socket, head) });
    // Its peers go first: they fall back to the edge's FLV while the streams are still there.
    server.use({ name: 'p2p', start: () => service.start(), stop: () => service.close() });
  }

  let cluster: ClusterNode | undefined;
  const clusterConfig = config.cluster;
  if (clusterConfig) {
    const replicas = (app: string): number => (apps[app]?.record?.enabled ? apps[app].record.replicas : 0);
    // Added last: it joins once everything else runs and leaves first (its relays feed streams).
    server.use({
      name: 'cluster',
      start: async (addresses) => {
        cluster = new ClusterNode(server, clusterConfig, addresses, { recorder, replicas });
        await cluster.start();
        clusterJobs = await startClusterJobs(cluster, processing, server.registry, server.logger);
      },
      // A leave that fails (etcd gone) must not keep the rest of the node from closing.
      stop: async () => {
        const jobs = clusterJobs;
        clusterJobs = undefined;
        await jobs?.close().catch((err: unknown) => server.logger.warn({ err }, 'cluster: jobs not stopped cleanly'));
        await cluster?.close().catch((err: unknown) => server.logger.warn({ err }, 'cluster: leave failed'));
      },
    });
  }

  return {
    server,
    processing,
    recorder,
    p2p,
    get cluster() {
      return cluster;
    },
    start: () => server.start(),
    close: () => server.close(),
  };
}
