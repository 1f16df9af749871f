/**
 * The P2P core as ES modules for browsers, at /p2p-js/<folder>/<file>.js: the same files the
 * edge runs, so a browser peer and the edge cannot disagree on a rule or a wire format. After
 * a build the compiled .js beside this file's folder is served; under tsx (tests, a checkout
 * without a build) the .ts source is transpiled once with TypeScript. Only src/p2p/** and
 * src/wire/buf are served: the core's whole import closure (test/p2pedge checks it), and no
 * path from a URL ever reaches the disk unchecked.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** src/ (or dist/src/): the folder holding p2p/ and wire/. */
const SRC = fileURLToPath(new URL('../', import.meta.url));

function coreFiles(): Set<string> {
  const out = new Set<string>(['wire/buf']);
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(SRC, rel), { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${rel}/${e.name}`);
      else if (/\.(ts|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.add(`${rel}/${e.name.replace(/\.(ts|js)$/, '')}`);
    }
  };
  walk('p2p');
  return out;
}

export class CoreModules {
  private files: Set<string> | undefined;
  private cache = new Map<string, string>();

  /** Makes every module ready (under tsx, loading TypeScript and transpiling takes seconds of CPU a first viewer should not wait for). */
  async warm(): Promise<void> {
    for (const name of (this.files ??= coreFiles())) await this.get(`${name}.js`);
  }

  /** The module's JavaScript for a URL path under /p2p-js/, or undefined (a 404). */
  async get(rel: string): Promise<string | undefined> {
    if (!/^[A-Za-z0-9_/]{1,80}\.js$/.test(rel) || rel.includes('//')) return undefined;
    const name = rel.slice(0, -3);
    if (!(this.files ??= coreFiles()).has(name)) return undefined;
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const js = join(SRC, `${name}.js`);
    let text: string;
    if (existsSync(js)) text = readFileSync(js, 'utf8');
    else {
      const ts = await import('typescript');
      const out = ts.transpileModule(readFileSync(join(SRC, `${name}.ts`), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      });
      text = out.outputText;
    }
    this.cache.set(name, text);
    return text;
  }
}
