import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIB_FILES, WEB_FILES, route } from './routes.js';

/**
 * The project folder (holding web/ and node_modules/), found by walking up from this file, so
 * the same code works from src/ under tsx and from dist/src/ after a build.
 */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'web', 'index.html')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('tributary: cannot find the web/ folder above ' + fileURLToPath(import.meta.url));
}

export interface StaticFile {
  body: Buffer;
  type: string;
  /** A digest of the body: the ETag, and the `?v=` that pages put on the URLs they load. */
  version: string;
}

/** Cache-Control for a file asked for by `url`: a URL naming the body's version never changes. */
export function cacheControl(f: StaticFile, url: URL): string {
  return url.searchParams.get('v') === f.version ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/** True when the request's If-None-Match already names this body (answer 304). */
export function notModified(f: StaticFile, ifNoneMatch: string | undefined): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${f.version}"`);
}

/**
 * The player page and its libraries, read once on first use and kept in memory (a few hundred
 * KiB): serving them costs no disk I/O per request and no path from a URL ever reaches the disk.
 */
export class StaticFiles {
  private cache = new Map<string, StaticFile>();
  private root: string | undefined;
  private require = createRequire(import.meta.url);

  web(file: string): StaticFile | undefined {
    const type = WEB_FILES[file];
    if (!type) return undefined;
    return this.load(`web:${file}`, () => join((this.root ??= projectRoot()), 'web', file), type);
  }

  lib(file: string): StaticFile | undefined {
    const spec = LIB_FILES[file];
    if (!spec) return undefined;
    const type = file.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    return this.load(`lib:${file}`, () => this.require.resolve(spec), type);
  }

  private load(id: string, path: () => string, type: string): StaticFile | undefined {
    const hit = this.cache.get(id);
    if (hit) return hit;
    let body: Buffer;
    try {
      body = readFileSync(path());
    } catch {
      return undefined;
    }
    if (type.startsWith('text/html')) body = Buffer.from(this.versionLinks(body.toString('utf8')));
    const f = { body, type, version: digest(body) };
    this.cache.set(id, f);
    return f;
  }

  /**
   * A page's stylesheets and scripts get `?v=<their digest>`, served as immutable: a reload
   * (or a second tab) takes them from the browser's cache, with the code compiled already,
   * instead of asking a server that is busy with live streams for each one again. A new
   * release changes the digest, so the page never runs a stale script.
   */
  private versionLinks(html: string): string {
    return html.replace(/(<(?:script|link)\b[^>]*?\s(?:src|href)=")(\/[^"?#]+)(")/g, (all, pre: string, path: string, post: string) => {
      const r = route(path);
      const f = r.kind === 'lib' ? this.lib(r.file) : r.kind === 'page' && !r.file.endsWith('.html') ? this.web(r.file) : undefined;
      return f ? `${pre}${path}?v=${f.version}${post}` : all;
    });
  }
}

function digest(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64url').slice(0, 16);
}
