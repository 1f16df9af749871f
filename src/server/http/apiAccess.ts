import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Who may read /api/*, /metrics and the stream list page. They list every stream key, and a
 * key is all a viewer needs when play tokens are off, so they are not for everyone:
 *
 * - `api.token` set: a request must carry it, as `Authorization: Bearer <token>` (scripts,
 *   Prometheus) or as the `tributary_api` cookie (a browser: `/?token=<token>` sets it once and
 *   redirects to a URL without it). Loopback clients need it too.
 * - no token: only clients on loopback are answered, so `npm start` and the dashboard work on
 *   the machine that runs the server, and a server on a public address does not hand its keys
 *   to the world. (Behind a reverse proxy on the same host every client looks like loopback:
 *   set a token there.)
 *
 * Pure: the request's parts in, a verdict out.
 */
export const API_COOKIE = 'tributary_api';

export interface ApiRequest {
  remoteAddress: string | undefined;
  authorization: string | undefined;
  cookie: string | undefined;
}

export type ApiVerdict = { ok: true } | { ok: false; status: 401 | 403; message: string };

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** Constant time whatever the lengths (both sides are hashed first). */
function sameToken(given: string, token: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(given), h(token));
}

function bearer(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  return m?.[1];
}

/** The value of one cookie; a header too long to be ours is ignored. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function checkApiAccess(token: string | undefined, req: ApiRequest): ApiVerdict {
  if (token === undefined) {
    if (isLoopback(req.remoteAddress)) return { ok: true };
    return { ok: false, status: 403, message: 'the API and metrics answer loopback only until api.token is set (see docs/operations.md)' };
  }
  const given = bearer(req.authorization) ?? cookieValue(req.cookie, API_COOKIE);
  if (given === undefined) return { ok: false, status: 401, message: 'api token required: Authorization: Bearer <token>, or open /?token=<token> in a browser' };
  if (!sameToken(given, token)) return { ok: false, status: 403, message: 'api token not valid' };
  return { ok: true };
}

/**
 * The Set-Cookie for a browser that opened `/?token=`: HttpOnly (page scripts never see it),
 * SameSite=Strict (no other site's page can make the browser send it), a day long.
 */
export function apiCookie(token: string, secure: boolean): string {
  return `${API_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=86400${secure ? '; Secure' : ''}`;
}
