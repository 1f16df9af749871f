#!/usr/bin/env node
// Entry point of the `tributary` command: runs the compiled CLI (built by `npm ci` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('tributary: not built yet; run `npm ci` (or `npm run build`) in the project folder first');
  process.exit(1);
}
await import(main);
