import { isValidName } from '../Registry.js';

/** A path segment naming an app or key: the registry's alphabet, never a dot segment. */
function ok(name: string | undefined): name is string {
  return name !== undefined && name !== '.' && name !== '..' && isValidName(name);
}

/** What a request path means. Pure: no I/O, so the table is easy to test and to read. */
export type Route =
  | { kind: 'flv'; app: string; key: string }
  | { kind: 'hls'; app: string; key: string; file: string }
  | { kind: 'api-streams' }
  | { kind: 'api-route' }
  | { kind: 'api-cluster' }
  | { kind: 'api-recordings' }
  | { kind: 'api-stream'; app: string; key: string }
  | { kind: 'api-stats' }
  | { kind: 'metrics' }
  | { kind: 'healthz' }
  | { kind: 'page'; file: string }
  | { kind: 'play-page'; app: string; key: string }
  | { kind: 'lib'; file: string }
  | { kind: 'not-found' };

/** The player page's own files, by URL name (a fixed list: nothing else under web/ is served). */
export const WEB_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'play.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'list.js': 'text/javascript; charset=utf-8',
  'player.js': 'text/javascript; charset=utf-8',
  'dashboard/index.html': 'text/html; charset=utf-8',
  'dashboard/dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard/charts.js': 'text/javascript; charset=utf-8',
  'dashboard/dashboard.css': 'text/css; charset=utf-8',
  'publish.html': 'text/html; charset=utf-8',
  'publish.js': 'text/javascript; charset=utf-8',
  'webrtc.js': 'text/javascript; charset=utf-8',
  'p2p.js': 'text/javascript; charset=utf-8',
  'p2pLinks.js': 'text/javascript; charset=utf-8',
};

/** Player libraries served from node_modules by fixed routes (no CDN). */
export const LIB_FILES: Record<string, string> = {
  'mpegts.js': 'mpegts.js/dist/mpegts.js',
  'hls.min.js': 'hls.js/dist/hls.min.js',
  'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

/** An LL-HLS file name under /<app>/<key>/: playlists, init segments, segments and parts. */
const HLS_FILE = /^[A-Za-z0-9_.\-]{1,64}$/;

/** Maps a URL path (no query) to a route. Names outside the registry's alphabet are 404s. */
export function route(pathname: string): Route {
  if (pathname.length > 512) return { kind: 'not-found' };
  if (pathname === '/' || pathname === '/index.html') return { kind: 'page', file: 'index.html' };
  if (pathname === '/healthz') return { kind: 'healthz' };
  if (pathname === '/metrics') return { kind: 'metrics' };
  if (pathname === '/api/streams' || pathname === '/api/streams/') return { kind: 'api-streams' };
  if (pathname === '/api/stats') return { kind: 'api-stats' };
  if (pathname === '/dashboard' || pathname === '/dashboard/') return { kind: 'page', file: 'dashboard/index.html' };
  if (pathname === '/api/route') return { kind: 'api-route' };
  if (pathname === '/api/cluster') return { kind: 'api-cluster' };
  if (pathname === '/api/recordings') return { kind: 'api-recordings' };
  const parts = pathname.split('/').slice(1);
  const [a, b, c, d] = parts;
  if (a === 'web' && parts.length === 2 && b! in WEB_FILES) return { kind: 'page', file: b! };
  if (a === 'lib' && parts.length === 2 && b! in LIB_FILES) return { kind: 'lib', file: b! };
  if (a === 'dashboard' && parts.length === 2 && `dashboard/${b}` in WEB_FILES) return { kind: 'page', file: `dashboard/${b}` };
  if (a === 'api' && b === 'streams' && parts.length === 4 && ok(c!) && ok(d!)) {
    return { kind: 'api-stream', app: c!, key: d! };
  }
  if (a === 'play' && parts.length === 3 && ok(b!) && ok(c!)) {
    return { kind: 'play-page', app: b!, key: c! };
  }
  if (parts.length === 2 && a !== 'api' && ok(a!) && b!.endsWith('.flv')) {
    const key = b!.slice(0, -4);
    if (ok(key)) return { kind: 'flv', app: a!, key };
  }
  if (parts.length === 3 && a !== 'api' && ok(a!) && ok(b!) && HLS_FILE.test(c!) && c !== '..' && c !== '.') {
    return { kind: 'hls', app: a!, key: b!, file: c! };
  }
  return { kind: 'not-found' };
}
