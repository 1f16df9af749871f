// Lists every import between the top-level folders of src/ and checks them against LAYERS:
// a folder imports only from folders of earlier layers, so the arrows point one way and no
// two folders need each other (the brief's wire -> transport -> net -> media -> server ->
// client -> cli). Usage: node scripts/layers.mjs [--edges] [SRC_DIR]; exit 1 on a cycle or a
// backward arrow. test/layers.test.ts runs the same check.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The allowed order, in one place: each row is a layer; a folder may import from folders of
 * the rows above its own, never from its own row or below. Peers in one row stay independent.
 */
export const LAYERS = [
  ['util', 'wire'], // no imports between src/ folders
  ['transport', 'srt', 'p2p', 'emulator'], // sans-IO protocol cores, the link emulator
  ['net'], // UDP/TCP shells of the transport
  ['media'], // the frame model; FLV, MPEG-TS, fMP4
  ['webrtc'], // RTP, SDP, werift peers
  ['server'], // Registry > App > Stream, protocol handlers, ServerPart (the extension point)
  ['processing', 'recording', 'p2pedge'], // parts built on the server
  ['cluster'], // membership, ownership, relays (it tells the recorder what to record)
  ['node'], // the composition root: a server with its parts (createNode)
  ['client'], // send, play
  ['bench'], // benchmarks drive whole nodes and clients
  ['cli'], // the `tributary` command
];

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function* sources(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** Comments may quote imports; they are not arrows. Strings holding comment markers are rare enough here. */
function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\'"`])\/\/.*$/gm, '$1');
}

/** Every import from one top-level folder of `src` into another: `from -> to` => ['file: spec', ...]. */
export function importEdges(src) {
  const edges = new Map();
  for (const file of sources(src)) {
    const rel = relative(src, file).split(sep);
    if (rel.length < 2) continue; // a file at src/'s root belongs to no folder
    const from = rel[0];
    for (const m of stripComments(readFileSync(file, 'utf8')).matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith('.')) continue; // packages and node: builtins
      const target = relative(src, resolve(dirname(file), spec)).split(sep);
      if (target[0] === '..' || target.length < 2) continue;
      const to = target[0];
      if (to === from) continue;
      const key = `${from} -> ${to}`;
      if (!edges.has(key)) edges.set(key, []);
      edges.get(key).push(`${relative(src, file)}: ${spec}`);
    }
  }
  return edges;
}

/** Folders that import each other through any chain (strongly connected components of two or more), Tarjan's. */
export function cycles(edges) {
  const next = new Map();
  for (const key of edges.keys()) {
    const [a, b] = key.split(' -> ');
    if (!next.has(a)) next.set(a, []);
    if (!next.has(b)) next.set(b, []);
    next.get(a).push(b);
  }
  let index = 0;
  const idx = new Map(), low = new Map(), stack = [], on = new Set(), out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v)) {
      if (!idx.has(w)) (visit(w), low.set(v, Math.min(low.get(v), low.get(w))));
      else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc = [];
    let w;
    do (w = stack.pop(), on.delete(w), scc.push(w)); while (w !== v);
    if (scc.length > 1) out.push(scc.sort());
  };
  for (const v of [...next.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

/** Arrows against LAYERS, and folders LAYERS does not place (a new folder must get a row). */
export function violations(edges, folders, layers = LAYERS) {
  const rank = new Map(layers.flatMap((row, i) => row.map((f) => [f, i])));
  const out = [];
  for (const f of [...folders].sort()) if (!rank.has(f)) out.push(`src/${f}/ has no layer: add it to LAYERS in scripts/layers.mjs`);
  for (const [key, where] of [...edges].sort()) {
    const [a, b] = key.split(' -> ');
    if (!rank.has(a) || !rank.has(b)) continue;
    if (rank.get(b) >= rank.get(a)) out.push(`${key} points ${rank.get(b) === rank.get(a) ? 'within a layer' : 'up'} (${where.length} imports, e.g. ${where[0]})`);
  }
  return out;
}

/** The whole check of one src/ tree. */
export function checkLayers(src, layers = LAYERS) {
  const edges = importEdges(src);
  const folders = readdirSync(src, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  return { edges, cycles: cycles(edges), violations: violations(edges, folders, layers) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const src = resolve(args.find((a) => !a.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src'));
  const { edges, cycles: loops, violations: bad } = checkLayers(src);
  if (args.includes('--edges')) for (const [key, where] of [...edges].sort()) console.log(`${key.padEnd(26)} ${String(where.length).padStart(3)}  ${where[0]}`);
  for (const c of loops) console.log(`cycle: ${c.join(' <-> ')}`);
  for (const v of bad) console.log(`layer: ${v}`);
  if (loops.length === 0 && bad.length === 0) console.log(`layers ok: ${edges.size} arrows between ${LAYERS.flat().length} folders, all pointing one way`);
  process.exit(loops.length || bad.length ? 1 : 0);
}
