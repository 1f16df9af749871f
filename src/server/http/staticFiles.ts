import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIB_FILES, WEB_FILES } from './routes.js';

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
    try {
      const f = { body: readFileSync(path()), type };
      this.cache.set(id, f);
      return f;
    } catch {
      return undefined;
    }
  }
}
