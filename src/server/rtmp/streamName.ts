/**
 * Splits "key?token=abc" (the stream name as OBS and ffmpeg send it) and "live?x=y" (an app
 * with a query) into names and one query. The stream name's parameters win on a clash.
 */
export function splitName(raw: string): { name: string; query: URLSearchParams } {
  const q = raw.indexOf('?');
  if (q < 0) return { name: raw, query: new URLSearchParams() };
  return { name: raw.slice(0, q), query: new URLSearchParams(raw.slice(q + 1)) };
}

export function mergeQueries(app: URLSearchParams, stream: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams(app);
  for (const [k, v] of stream) out.set(k, v);
  return out;
}

/** The app name from connect's `app` field: no query, no trailing slash ("live/" happens). */
export function appName(raw: string): { name: string; query: URLSearchParams } {
  const { name, query } = splitName(raw);
  return { name: name.replace(/\/+$/, ''), query };
}
