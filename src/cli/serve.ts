import type { Command } from 'commander';

/** Exit status for a config that failed validation (usage errors are 1). */
export const EXIT_CONFIG = 2;

interface ServeFlags {
  rtmpPort?: string;
  httpPort?: string;
  transportPort?: string;
  srtPort?: string;
  host?: string;
  config?: string;
  logLevel?: string;
  cluster?: string;
  nodeId?: string;
  region?: string;
  advertiseHost?: string;
  upstream?: string;
}

/** `tributary serve`: runs a media server until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('run the media server (RTMP in; HTTP-FLV, WebSocket-FLV, LL-HLS out; API, metrics, player page)')
    .option('--rtmp-port <port>', 'RTMP listen port (default 1935)')
    .option('--http-port <port>', 'HTTP listen port (default 8080)')
    .option('--transport-port <port>', 'transport (UDP) listen port (default 9000)')
    .option('--srt-port <port>', 'SRT (UDP) listen port, 0 = off (default 8890)')
    .option('--host <address>', 'address to listen on (default 0.0.0.0)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (default info)')
    .option('--config <file>', 'JSON config file; flags given override it')
    .option('--cluster <etcd-url>', 'join a cluster: etcd://HOST:PORT[,HOST:PORT...] (the secret from TRIBUTARY_CLUSTER_SECRET or the config)')
    .option('--node-id <id>', 'this node\'s name in the cluster')
    .option('--region <region>', 'this node\'s region (route answers prefer the viewer\'s)')
    .option('--advertise-host <address>', 'address other nodes and viewers reach this node on')
    .option('--upstream <node>', 'relay from this node (NODE or NODE@HOST:PORT) instead of the owner while it is alive')
    .action(async (flags: ServeFlags) => {
      const { loadConfig, ConfigError } = await import('../node/config.js');
      const { createNode } = await import('../node/createNode.js');
      let config;
      try {
        config = loadConfig(
          {
            rtmpPort: flags.rtmpPort, httpPort: flags.httpPort, transportPort: flags.transportPort, 'srt.port': flags.srtPort, host: flags.host, logLevel: flags.logLevel,
            'cluster.etcd': flags.cluster, 'cluster.nodeId': flags.nodeId, 'cluster.region': flags.region, 'cluster.advertiseHost': flags.advertiseHost, 'cluster.upstream': flags.upstream,
          },
          flags.config,
          process.env,
        );
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`tributary serve: ${err.message}\n`);
        process.exit(EXIT_CONFIG);
      }
      // The server with processing, recording and (with --cluster) the membership (src/node/).
      const node = createNode(config);
      const { server } = node;
      try {
        const a = await node.start();
        if (config.cluster) {
          process.stderr.write(`tributary serve: cluster node ${config.cluster.nodeId} (region ${config.cluster.region}) joined ${config.cluster.etcd}\n`);
        }
        // What a sender or player pins so that no one else can answer for this server.
        const fp = server.transport.fingerprint;
        if (fp) process.stderr.write(`tributary serve: transport key fingerprint ${fp}; pin it with tributary://HOST:${a.transportPort}/APP/KEY?fp=${fp}\n`);
        // Where the stream list is and who may see it (the token itself is never printed).
        const page = `http://${a.host === '0.0.0.0' || a.host === '::' ? '127.0.0.1' : a.host}:${a.httpPort}/`;
        process.stderr.write(config.api.token === undefined
          ? `tributary serve: stream list ${page}; it, /api and /metrics answer loopback only (set api.token or TRIBUTARY_API_TOKEN to open them to others)\n`
          : `tributary serve: stream list ${page}?token=API_TOKEN (once per browser); /api and /metrics take Authorization: Bearer API_TOKEN\n`);
      } catch (err) {
        server.logger.fatal({ err }, 'cannot start');
        await node.close();
        process.exit(1);
      }
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        server.logger.info({ signal }, 'shutting down');
        // A second signal, or a close that hangs, must not keep the process alive.
        setTimeout(() => process.exit(1), 5000).unref();
        node.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
