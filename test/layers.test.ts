/** src/'s folders import one way (scripts/layers.mjs, LAYERS): no cycles, no arrow pointing up. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';

const SCRIPT = 'scripts/layers.mjs';
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function run(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** A throwaway src/ tree: path -> source text. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'layers-'));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('src/ has no import cycle between its folders and no arrow against LAYERS', () => {
  const r = run('--edges');
  assert.equal(r.status, 0, `scripts/layers.mjs found:\n${r.out}`);
  assert.match(r.out, /layers ok/);
  // The arrows this layout exists for: the parts above the server reach it, it never reaches them.
  assert.match(r.out, /^processing -> server /m);
  assert.match(r.out, /^node -> processing /m);
  assert.doesNotMatch(r.out, /^server -> (processing|recording|cluster|node) /m);
});

test('two folders that import each other, through a type or a dynamic import, are a cycle', () => {
  const src = tree({
    'server/Server.ts': "import type { Job } from '../processing/Job.js';\nexport class Server {}\n",
    'processing/Job.ts': "export class Job { async x() { return import('../server/Server.js'); } }\n",
    // A comment quoting an import is not an arrow.
    'media/frame.ts': "// import { Server } from '../server/Server.js';\nexport const frame = 1;\n",
  });
  const r = run(src);
  assert.equal(r.status, 1);
  assert.match(r.out, /cycle: processing <-> server/);
  assert.match(r.out, /server -> processing points up/);
  assert.doesNotMatch(r.out, /media ->/);
});

test('a longer loop is found, and a folder LAYERS does not place is refused', () => {
  const src = tree({
    'wire/a.ts': "import { b } from '../net/b.js';\nexport const a = b;\n",
    'net/b.ts': "export { c as b } from '../media/c.js';\n",
    'media/c.ts': "import '../wire/a.js';\nexport const c = 1;\n",
    'gadgets/g.ts': "import { c } from '../media/c.js';\nexport const g = c;\n",
  });
  const r = run(src);
  assert.equal(r.status, 1);
  assert.match(r.out, /cycle: media <-> net <-> wire/);
  assert.match(r.out, /src\/gadgets\/ has no layer/);
});
