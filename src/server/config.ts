import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isValidName } from './Registry.js';

// No z.coerce anywhere: a JSON value keeps its type (true, null, "" or [] for a number is an
// error, never port 1 or a random port). Text from flags and the environment is parsed
// explicitly, before the schema sees it (see TEXT_SETTINGS).
const port = z.number().int().min(0).max(65535);
const ms = z.number().int().min(1).max(3_600_000);
/** API tokens travel in headers, cookies and URLs: keep them to characters none of those mangle. */
const API_TOKEN = /^[A-Za-z0-9._~+/=-]{16,256}$/;

/** App names as URLs carry them (Registry.isValidName). */
export const AppName = z.string().refine(isValidName, 'app names use A-Z a-z 0-9 _ . - ~ (1..128)');

/**
 * One app's settings. `listed: false` keeps an app's streams out of /api/streams and the
 * stream list; they still play by their key. The parts above the server add their own keys
 * (src/node/config.ts: a ladder, recording).
 */
export const AppSchema = z.strictObject({
  listed: z.boolean().default(true),
  /** Main/backup publishing: a second publisher of a live key stands by and takes over when the first stops or goes silent (~300 ms). */
  backup: z.boolean().default(false),
});

/**
 * What the server itself (src/server/) can be told. Defaults are the embedded ones `npm start`
 * runs with; a JSON config file uses the same names (loadConfig: file, then environment, then
 * flags). src/node/config.ts extends it with the parts above the server (processing, recording,
 * cluster), each part's schema from its own folder: the server never imports them.
 */
/** One STUN/TURN server as RTCIceServer has it; quotes and angle brackets would break the Link header. */
const iceUrl = z.string().max(256).regex(/^(stun|stuns|turn|turns):[^\s<>"]+$/, 'a stun:, stuns:, turn: or turns: URL');
const linkParam = z.string().min(1).max(128).regex(/^[^"\\\r\n]+$/, 'no quotes, backslashes or line breaks');
const iceServer = z
  .strictObject({ urls: z.union([iceUrl, z.array(iceUrl).min(1).max(8)]), username: linkParam.optional(), credential: linkParam.optional() })
  .refine((s) => (s.username === undefined) === (s.credential === undefined), { message: 'username and credential go together' });

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
        maxHeaderSize: z.number().int().min(1024).max(65536).default(16384),
        /** Open sockets beyond this are refused by the kernel accept path. */
        maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
        corsOrigin: z.string().min(1).default('*'),
      })
      .prefault({}),
    api: z
      .strictObject({
        /**
         * Bearer token for /api/*, /metrics and the stream list page. Unset: those answer only
         * clients on loopback (127.0.0.0/8, ::1), so `npm start` works on one machine and a
         * server on a public address does not list its stream keys to everyone.
         */
        token: z.string().regex(API_TOKEN, 'must be 16..256 characters of A-Z a-z 0-9 . _ ~ + / = -').optional(),
      })
      .prefault({}),
    /** Per-app settings, by app name (AppSchema). */
    apps: z.record(AppName, AppSchema).default({}),
    /**
     * A publisher that leaves (an encoder restart, a reconnect) may come back within this long
     * and find its viewers still connected, ms; then they are closed. 0: closed at once.
     */
    publisherGraceMs: z.number().int().min(0).max(600_000).default(10_000),
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
    /** The transport listener's security (see docs/protocol.md, handshake). */
    transport: z
      .strictObject({
        /** Lowest encryption a client may ask for; a client asking less is refused with the reason. */
        minEncryption: z.enum(['none', 'headers', 'all']).default('headers'),
        /** The server's long-term key (PKCS#8 PEM, made on first start). Default $TRIBUTARY_HOME/server-key.pem, else ~/.tributary/server-key.pem. */
        keyFile: z.string().min(1).optional(),
      })
      .prefault({}),
    /** The SRT listener (src/server/srt): callers publish or request MPEG-TS by stream id. */
    srt: z
      .strictObject({
        /** UDP port; 0 turns the listener off. 8890, as MediaMTX uses. */
        port: port.default(8890),
        /** Receiving delay offered to callers (SRTO_LATENCY), ms; a caller may ask for more. */
        latencyMs: z.number().int().min(20).max(10_000).default(120),
        /** When set, every caller must encrypt with it (libsrt: 10..79 characters). */
        passphrase: z.string().min(10).max(79).optional(),
      })
      .prefault({}),
    /** WHIP ingest and WHEP playback (POST /whip/APP/KEY, /whep/APP/KEY on the HTTP port). */
    webrtc: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** UDP ports ICE binds (one per session), on `host`. */
        portMin: port.default(20000),
        portMax: port.default(20999),
        /** The address put in answers' candidates when `host` is not what browsers reach (NAT, 0.0.0.0). */
        announcedAddress: z.string().min(1).max(64).optional(),
        /** Sessions that have not completed ICE and DTLS within this are closed (reaped). */
        connectTimeoutMs: ms.default(15_000),
        /** WHIP and WHEP sessions open at most, together. */
        maxSessions: z.number().int().min(1).max(100_000).default(500),
        /** Sessions from one address that have not connected yet (offers being answered among them); beyond, 429. limits.exemptAddresses are free of it. */
        maxUnconnectedPerAddress: z.number().int().min(1).max(100_000).default(8),
        /**
         * STUN/TURN servers told to clients in Link headers (RFC 9725 section 4.6), for
         * browsers behind NATs or firewalls that allow only a relay. The server itself uses none
         * unless serverUsesIceServers.
         */
        iceServers: z.array(iceServer).max(8).default([]),
        /**
         * The server's own ICE agent gathers through iceServers too (its first STUN and first
         * TURN URL): server-reflexive and relay candidates in its answers, for a server behind NAT.
         */
        serverUsesIceServers: z.boolean().default(false),
      })
      .prefault({})
      .refine((w) => w.portMax >= w.portMin, { message: 'portMax must not be below portMin', path: ['portMax'] }),
    viewer: z
      .strictObject({
        /** Queued bytes above which a viewer skips video to the next keyframe. */
        skipBytes: z.number().int().min(1024).default(2 << 20),
        /** Queued bytes above which a viewer is cut. */
        cutBytes: z.number().int().min(1024).default(8 << 20),
        /** A viewer whose socket has not drained for this long (it stopped reading) is cut. */
        stallCutMs: ms.default(10_000),
        /**
         * HTTP-FLV and WS-FLV: an audio tag waits up to this long for the next video frame so
         * both leave in one write (0: every turn's tags leave at once). See FlvSubscriber.send.
         */
        mergeWriteMs: z.number().int().min(0).max(200).default(40),
        /**
         * HTTP-FLV and WS-FLV while the event loop is busy (over 80% utilized, until it falls
         * below 50%): video waits up to this long too, so a viewer gets a write every this
         * many ms instead of one per frame (0: never). SRS's mw_latency, applied only under load.
         */
        busyMergeWriteMs: z.number().int().min(0).max(500).default(100),
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

function issues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

/**
 * Settings that may arrive as text (command-line flags, environment variables), with how the
 * text is read. This is the only place text becomes a number: the schema never coerces.
 */
export const TEXT_SETTINGS: readonly TextSetting[] = [
  { name: 'host', type: 'string', flag: '--host', env: 'TRIBUTARY_HOST' },
  { name: 'rtmpPort', type: 'integer', flag: '--rtmp-port', env: 'TRIBUTARY_RTMP_PORT' },
  { name: 'httpPort', type: 'integer', flag: '--http-port', env: 'TRIBUTARY_HTTP_PORT' },
  { name: 'transportPort', type: 'integer', flag: '--transport-port', env: 'TRIBUTARY_TRANSPORT_PORT' },
  { name: 'srt.port', type: 'integer', flag: '--srt-port', env: 'TRIBUTARY_SRT_PORT' },
  { name: 'logLevel', type: 'string', flag: '--log-level', env: 'TRIBUTARY_LOG_LEVEL' },
  // No flag for the token: a command line is visible to every user of the machine (ps).
  { name: 'api.token', type: 'string', env: 'TRIBUTARY_API_TOKEN' },
];

export interface TextSetting {
  /** The config path, dotted (`api.token`). */
  name: string;
  type: 'integer' | 'string';
  flag?: string;
  env: string;
}

/** Whole decimal numbers only: "", " 1", "1e3", "0x10", "1.5" and "-1" are not ports or sizes. */
const INTEGER_TEXT = /^\d{1,15}$/;

function fromText(s: TextSetting, text: string, source: string): { value: unknown } | { problem: string } {
  if (s.type === 'string') return { value: text };
  if (!INTEGER_TEXT.test(text)) return { problem: `${s.name}: expected a whole number, got ${JSON.stringify(text)} (from ${source})` };
  return { value: Number(text) };
}

/** Sets a dotted path in a plain object tree; fails (returns false) where the tree holds a non-object. */
function setPath(target: Record<string, unknown>, name: string, value: unknown): boolean {
  const parts = name.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) node = node[part] = {};
    else if (typeof next === 'object' && next !== null && !Array.isArray(next)) node = node[part] = { ...(next as Record<string, unknown>) };
    else return false;
  }
  node[parts[parts.length - 1]!] = value;
  return true;
}

function readFile(file: string): Record<string, unknown> {
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
  return parsed as Record<string, unknown>;
}

/**
 * parseConfig and loadConfig for `schema` and the text `settings` it may be given: the
 * server's own below, the whole node's (src/node/config.ts) with the parts' schemas and flags.
 */
export function configLoader<S extends z.ZodType>(schema: S, settings: readonly TextSetting[]) {
  /** Validates a config object; throws ConfigError naming each field path and reason. */
  function parse(input: unknown): z.output<S> {
    const r = schema.safeParse(input);
    if (r.success) return r.data;
    throw new ConfigError(issues(r.error));
  }

  /**
   * The config a server starts with: defaults, then the JSON file, then environment variables
   * (the settings' `env` names), then flags; later sources win. `flags` holds the text of the
   * flags that were given, keyed by setting name (`httpPort`, `api.token`); undefined ones are
   * ignored, as are names not in the settings (a programming error, reported as a problem).
   * Every problem, from any source, is reported in one ConfigError.
   */
  function load(flags: Record<string, string | undefined>, file?: string, env: Record<string, string | undefined> = {}): z.output<S> {
    const merged: Record<string, unknown> = file === undefined ? {} : readFile(file);
    const problems: string[] = [];
    const apply = (s: TextSetting, text: string | undefined, source: string): void => {
      if (text === undefined) return;
      const r = fromText(s, text, source);
      if ('problem' in r) return void problems.push(r.problem);
      if (!setPath(merged, s.name, r.value)) problems.push(`${s.name}: the config file's ${s.name.split('.')[0]} is not an object (cannot set it from ${source})`);
    };
    for (const s of settings) apply(s, env[s.env], s.env);
    for (const [name, text] of Object.entries(flags)) {
      const s = settings.find((t) => t.name === name);
      if (!s?.flag) problems.push(`${name}: not a setting flags can give`);
      else apply(s, text, s.flag);
    }
    const r = schema.safeParse(merged);
    if (r.success && problems.length === 0) return r.data;
    if (!r.success) problems.push(...issues(r.error));
    throw new ConfigError(problems);
  }

  return { parse, load };
}

const serverLoader = configLoader(ConfigSchema, TEXT_SETTINGS);
/** The server's own config (no processing, recording or cluster: src/node/config.ts has those). */
export const parseConfig = serverLoader.parse;
export const loadConfig = serverLoader.load;
