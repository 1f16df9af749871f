/**
 * What a caller asks for, from its stream id: the SRT access-control form
 * `#!::r=APP/KEY,m=publish|request,t=TOKEN` (keys in any order) or the plain `APP/KEY` OBS
 * users type, which publishes. `t` carries a Tributary token (src/server/auth.ts); the access
 * control spec's own `t=stream` type is accepted and ignored. Never throws: a malformed id is
 * an `error` the listener turns into a rejection.
 */
export interface StreamRequest {
  app: string;
  key: string;
  mode: 'publish' | 'request';
  token?: string;
  user?: string;
}

const NAME = /^[A-Za-z0-9_.\-~]{1,128}$/;

export function parseStreamId(sid: string): StreamRequest | { error: string } {
  // Some ffmpeg builds pass the streamid= URL option through undecoded, so `#` arrives as %23.
  if (sid.startsWith('%23')) {
    try {
      sid = decodeURIComponent(sid);
    } catch {
      return { error: 'stream id is not valid percent-encoding' };
    }
  }
  let resource: string | undefined;
  let mode: 'publish' | 'request' = 'publish';
  let token: string | undefined;
  let user: string | undefined;
  if (sid.startsWith('#!::')) {
    for (const part of sid.slice(4).split(',')) {
      const eq = part.indexOf('=');
      if (eq <= 0) return { error: `stream id item "${part.slice(0, 40)}" is not key=value` };
      const k = part.slice(0, eq);
      const val = part.slice(eq + 1);
      if (k === 'r') resource = val;
      else if (k === 'm') {
        if (val !== 'publish' && val !== 'request') return { error: `mode "${val.slice(0, 20)}" unsupported (publish or request)` };
        mode = val;
      } else if (k === 't') {
        if (val !== 'stream') token = val;
      } else if (k === 'u') user = val;
      // h (host), s (session) and others are the caller's business; ignored.
    }
  } else resource = sid;
  if (resource === undefined) return { error: 'stream id has no resource (r=APP/KEY)' };
  const slash = resource.indexOf('/');
  if (slash < 0) return { error: 'resource must be APP/KEY' };
  const app = resource.slice(0, slash);
  const key = resource.slice(slash + 1);
  if (!NAME.test(app) || !NAME.test(key)) return { error: 'APP and KEY use A-Z a-z 0-9 _ . - ~ (1..128 each)' };
  const r: StreamRequest = { app, key, mode };
  if (token !== undefined) r.token = token;
  if (user !== undefined) r.user = user;
  return r;
}
