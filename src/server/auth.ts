import { createHmac, timingSafeEqual } from 'node:crypto';

export type AuthAction = 'publish' | 'play';

/** Longest token accepted; anything longer is refused before any hashing. */
const MAX_TOKEN_LENGTH = 256;

/**
 * Tokens are `<expiry unix seconds>.<base64url HMAC-SHA256>` where the MAC covers the action,
 * the stream path and the expiry. A play token can't publish, a token for one key can't open
 * another, and nothing but the expiry travels in the clear.
 */
export interface TokenClaims {
  action: AuthAction;
  app: string;
  key: string;
  /** Expiry, ms since the epoch (stored with second precision). */
  expiresAt: number;
}

function mac(secret: string, action: AuthAction, app: string, key: string, expiresSec: number): Buffer {
  return createHmac('sha256', secret).update(`${action}\n${app}/${key}\n${expiresSec}`).digest();
}

export function makeToken(secret: string, claims: TokenClaims): string {
  const expiresSec = Math.floor(claims.expiresAt / 1000);
  return `${expiresSec}.${mac(secret, claims.action, claims.app, claims.key, expiresSec).toString('base64url')}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Checks a token for one action on one stream at time `now` (ms). Never throws. */
export function verifyToken(
  secret: string,
  token: string | undefined | null,
  want: { action: AuthAction; app: string; key: string },
  now = Date.now(),
): VerifyResult {
  if (!token) return { ok: false, reason: 'token required' };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token malformed' };
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { ok: false, reason: 'token malformed' };
  const expiresSec = Number(m[1]);
  const given = Buffer.from(m[2]!, 'base64url');
  const expected = mac(secret, want.action, want.app, want.key, expiresSec);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: `token invalid for ${want.action} ${want.app}/${want.key}` };
  }
  if (expiresSec * 1000 <= now) return { ok: false, reason: 'token expired' };
  return { ok: true };
}

/** The auth part of the server config. */
export interface AuthPolicy {
  secret?: string | undefined;
  publish: boolean;
  play: boolean;
}

/** Applies the policy: actions that don't require a token pass whatever is given. */
export function authorize(
  policy: AuthPolicy,
  want: { action: AuthAction; app: string; key: string; token?: string | null | undefined },
  now = Date.now(),
): VerifyResult {
  if (!policy[want.action]) return { ok: true };
  if (!policy.secret) return { ok: false, reason: 'server has no auth secret' };
  return verifyToken(policy.secret, want.token, want, now);
}

/** Splits "key?token=abc&x=y" (how RTMP clients carry a token in the stream name). */
export function splitQuery(name: string): { name: string; params: URLSearchParams } {
  const i = name.indexOf('?');
  if (i < 0) return { name, params: new URLSearchParams() };
  return { name: name.slice(0, i), params: new URLSearchParams(name.slice(i + 1, i + 1 + 1024)) };
}
