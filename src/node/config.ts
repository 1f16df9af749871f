import { z } from 'zod';
import { CLUSTER_TEXT_SETTINGS, ClusterConfig } from '../cluster/config.js';
import { P2pSection } from '../p2pedge/config.js';
import { LadderConfig, ProcessingConfig } from '../processing/config.js';
import { RecordSpec } from '../recording/RecordSpec.js';
import { AppName, AppSchema, ConfigSchema, configLoader, TEXT_SETTINGS } from '../server/config.js';

export { ConfigError } from '../server/config.js';

/**
 * Everything a `tributary serve` node can be told: the server's config (src/server/config.ts)
 * with the sections of the parts built above it, each schema from the part's own folder.
 * The names and defaults are those of one config file; the server reads only its own keys.
 */
export const NodeConfigSchema = ConfigSchema.safeExtend({
  apps: z
    .record(
      AppName,
      AppSchema.extend({
        /** Renditions every live stream of the app gets (src/processing/). */
        ladder: LadderConfig.optional(),
        /** Recording of the app's streams to disk (src/recording/; docs/operations.md, "Recording"). */
        record: RecordSpec.optional(),
      }),
    )
    .default({}),
  /** Processing jobs (transcodes, ladders, mixes; src/processing/). */
  processing: ProcessingConfig,
  /** P2P delivery among a stream's viewers (src/p2pedge/); absent: off. */
  p2p: P2pSection,
  /** Cluster membership (src/cluster, `serve --cluster`); absent: a single node, as before. */
  cluster: ClusterConfig.optional(),
});

export type Config = z.output<typeof NodeConfigSchema>;
export type ConfigInput = z.input<typeof NodeConfigSchema>;

/** Every setting flags and the environment give: the server's and the cluster's. */
export const NODE_TEXT_SETTINGS = [...TEXT_SETTINGS, ...CLUSTER_TEXT_SETTINGS];

const loader = configLoader(NodeConfigSchema, NODE_TEXT_SETTINGS);
/** Validates a node's config object; throws ConfigError naming each field path and reason. */
export const parseConfig = loader.parse;
/** A node's config from defaults, a JSON file, the environment and flags (server/config.ts, configLoader). */
export const loadConfig = loader.load;
