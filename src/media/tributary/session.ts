/**
 * How a media session over the transport names itself before any message flows.
 *
 * URL: `tributary://HOST[:PORT]/APP/KEY[?token=TOKEN][&latency=MS][&quality=auto|source|NAME][&fp=FINGERPRINT]` (default
 * port 9000; IPv6 hosts in brackets; fp: the server key's fingerprint `tributary serve` prints,
 * which the client then insists on). The handshake's identity is `ROLE APP/KEY[ EXPIRY]` (EXPIRY: the
 * token's expiry in Unix seconds, the part before its dot) and its pre-shared key is the token
 * itself, or OPEN_PSK without one. A server recomputes the token from its secret and the
 * identity, so only a holder of the right token completes the handshake, and the token never
 * travels on the wire.
 */
import { QUALITY_NAME, type Role } from './messages.js';

export const DEFAULT_TRANSPORT_PORT = 9000;
/** The pre-shared key of streams that need no token (public: it authenticates nothing). */
export const OPEN_PSK = 'tributary-open-stream';

const NAME = /^[A-Za-z0-9_.\-~]{1,128}$/;
const TOKEN = /^(\d{1,12})\.[A-Za-z0-9_-]{43}$/;

export interface TributaryUrl {
  host: string;
  port: number;
  app: string;
  key: string;
  token: string | undefined;
  /** Delivery deadline the URL asks for, ms (`latency=`), if any. */
  latencyMs: number | undefined;
  /** The rendition a player asks for (`quality=`: auto, source or a name), if any. */
  quality: string | undefined;
  /** The server key fingerprint the URL pins (`fp=`, 43 base64url characters), if any. */
  fp: string | undefined;
}

export class TributaryUrlError extends Error {
  constructor(url: string, why: string) {
    super(`bad tributary URL ${JSON.stringify(url)}: ${why}`);
    this.name = 'TributaryUrlError';
  }
}

export function parseTributaryUrl(raw: string): TributaryUrl {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new TributaryUrlError(raw, 'not a URL');
  }
  if (u.protocol !== 'tributary:') throw new TributaryUrlError(raw, 'the scheme must be tributary://');
  if (!u.hostname) throw new TributaryUrlError(raw, 'no host');
  const parts = u.pathname.split('/').filter(Boolean);
  if (parts.length !== 2) throw new TributaryUrlError(raw, 'the path must be /APP/KEY');
  const [app, key] = parts.map((p) => decodeURIComponent(p)) as [string, string];
  if (!NAME.test(app) || !NAME.test(key)) throw new TributaryUrlError(raw, 'app and key: 1-128 of A-Z a-z 0-9 _ . - ~');
  const token = u.searchParams.get('token') ?? undefined;
  if (token !== undefined && !TOKEN.test(token)) throw new TributaryUrlError(raw, 'the token is malformed (expected EXPIRY.SIGNATURE from `tributary token`)');
  const latency = u.searchParams.get('latency');
  const latencyMs = latency === null ? undefined : Number(latency);
  if (latencyMs !== undefined && !(Number.isInteger(latencyMs) && latencyMs >= 50 && latencyMs <= 60_000)) throw new TributaryUrlError(raw, 'latency must be 50..60000 ms');
  const fp = u.searchParams.get('fp') ?? undefined;
  if (fp !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(fp)) throw new TributaryUrlError(raw, 'fp must be the 43-character fingerprint `tributary serve` prints');
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const quality = u.searchParams.get('quality') ?? undefined;
  if (quality !== undefined && !QUALITY_NAME.test(quality)) throw new TributaryUrlError(raw, 'quality must be auto, source or a rendition name (1-32 of A-Z a-z 0-9 _ -)');
  return { host, port: u.port ? Number(u.port) : DEFAULT_TRANSPORT_PORT, app, key, token, latencyMs, quality, fp };
}

/** Seconds since the epoch at which a token expires (it is in clear in the token). */
export function tokenExpiry(token: string): number {
  const m = TOKEN.exec(token);
  if (!m) throw new Error('token malformed');
  return Number(m[1]);
}

export function sessionIdentity(role: Role, app: string, key: string, token: string | undefined): string {
  return token === undefined ? `${role} ${app}/${key}` : `${role} ${app}/${key} ${tokenExpiry(token)}`;
}

export function sessionPsk(token: string | undefined): string {
  return token ?? OPEN_PSK;
}

export interface SessionIdentity {
  role: Role;
  app: string;
  key: string;
  /** Token expiry, Unix seconds, when the client holds a token. */
  expiry: number | undefined;
}

/** Parses an identity; undefined for anything malformed (the server then refuses the handshake). */
export function parseSessionIdentity(identity: string): SessionIdentity | undefined {
  const m = /^(publish|play) ([A-Za-z0-9_.\-~]{1,128})\/([A-Za-z0-9_.\-~]{1,128})(?: (\d{1,12}))?$/.exec(identity);
  if (!m) return undefined;
  return { role: m[1] as Role, app: m[2]!, key: m[3]!, expiry: m[4] === undefined ? undefined : Number(m[4]) };
}
