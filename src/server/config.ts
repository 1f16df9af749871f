import { readFileSync } from 'node:fs';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const ms = z.coerce.number().int().min(1).max(3_600_000);

/**
 * Everything a server process can be told. Defaults are the embedded ones `npm start` runs
 * with; a JSON config file uses the same names, and command-line flags override the file.
 */
export const ConfigSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0'),
    rtmpPort: port.default(1935),
    httpPort: port.default(8080),
    /** The UDP transport listener (a later part); reserved here so configs stay stable. */
    transportPort: port.default(9000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    auth: z
      .strictObject({
        /** HMAC-SHA256 key for tokens. Required when publish or play requires a token. */
        secret: z.string().min(16, 'must be at least 16 characters').optional(),
        publish: z.boolean().default(false),
        play: z.boolean().default(false),
      })
      .prefault({}),
    http: z
      .strictObject({
        /** Slowloris guard: a client must finish its request headers within this time. */
        headersTimeoutMs: ms.default(10_000),
        requestTimeoutMs: ms.default(30_000),
        keepAliveTimeoutMs: ms.default(5_000),
        maxHeaderSize: z.coerce.number().int().min(1024).max(65536).default(16384),
        /** Open sockets beyond this are refused by the kernel accept path. */
        maxConnections: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
        corsOrigin: z.string().min(1).default('*'),
      })
      .prefault({}),
    /**
     * What unauthenticated peers may make the server hold (RTMP, HTTP, WebSocket): one budget
     * for everything, a share of it per address, and a cap on connections per address.
     */
    limits: z
      .strictObject({
        /** Bytes of unfinished input and connection state all peers together may hold. */
        memoryBudgetBytes: z.number().int().min(1 << 20).max(2 ** 40).default(512 << 20),
        /** Bytes of that budget one address may hold. */
        memoryPerAddressBytes: z.number().int().min(1 << 20).max(2 ** 40).default(128 << 20),
        /** Concurrent TCP connections (RTMP and HTTP together) from one address (IPv6: one /64). */
        maxConnectionsPerAddress: z.number().int().min(1).max(1_000_000).default(64),
        /** Addresses the per-address cap leaves alone: loopback, where a reverse proxy or a local relay connects from. */
        exemptAddresses: z.array(z.string().min(1)).max(1000).default(['127.0.0.1', '::1']),
      })
      .prefault({})
      .refine((l) => l.memoryPerAddressBytes <= l.memoryBudgetBytes, { message: 'memoryPerAddressBytes must not exceed memoryBudgetBytes', path: ['memoryPerAddressBytes'] }),
    viewer: z
      .strictObject({
        /** Queued bytes above which a viewer skips video to the next keyframe. */
        skipBytes: z.coerce.number().int().min(1024).default(2 << 20),
        /** Queued bytes above which a viewer is cut. */
        cutBytes: z.coerce.number().int().min(1024).default(8 << 20),
        /** A viewer that stays above skipBytes this long (it stopped reading) is cut. */
        stallCutMs: ms.default(10_000),
      })
      .prefault({})
      .refine((v) => v.cutBytes > v.skipBytes, { message: 'cutBytes must be greater than skipBytes', path: ['cutBytes'] }),
  })
  .superRefine((c, ctx) => {
    if ((c.auth.publish || c.auth.play) && !c.auth.secret) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'secret'], message: 'required when auth.publish or auth.play is true' });
    }
  });

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** A config that failed validation; `message` names every bad field and why. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates a config object; throws ConfigError naming each field path and reason. */
export function parseConfig(input: unknown): Config {
  const r = ConfigSchema.safeParse(input);
  if (r.success) return r.data;
  throw new ConfigError(r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`));
}

/**
 * The file (JSON) merged with flags: a flag that was given wins over the file. Flags use the
 * same names as the file (rtmpPort, httpPort, ...); undefined flags are ignored.
 */
export function loadConfig(flags: Record<string, unknown>, file?: string): Config {
  let fromFile: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`config file ${file}: ${(err as Error).message}`]);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError([`config file ${file}: not valid JSON (${(err as Error).message})`]);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError([`config file ${file}: must hold a JSON object`]);
    }
    fromFile = parsed as Record<string, unknown>;
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) merged[k] = v;
  return parseConfig(merged);
}
