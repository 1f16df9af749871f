import { isAbsolute, relative, resolve, sep } from 'node:path';

/*
 * Where a recording goes: a config template such as `recordings/{app}/{key}/{date}` with its
 * placeholders filled from the stream. The app and key come from publishers (an RTMP stream
 * name is whatever the encoder sends), so each one becomes a single harmless path segment: it
 * can never climb out of the template's own directory (`..`), start a hidden file, or be empty.
 */

export const PLACEHOLDERS = ['app', 'key', 'date', 'time', 'node'] as const;
const PLACEHOLDER = /\{([a-z]+)\}/g;
const UNSAFE = /[^A-Za-z0-9_.\-~]/g;

/** Why a template is refused (config validation), or undefined when it is usable. */
export function templateProblem(template: string): string | undefined {
  if (template.length === 0 || template.length > 512) return 'must be 1..512 characters';
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) return `unknown placeholder {${m[1]}} (use ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`;
  }
  if (template.split(/[\\/]/).some((part) => part === '..')) return 'must not contain ".." segments';
  if (!template.includes('{key}')) return 'must contain {key} (two streams would share a directory)';
  return undefined;
}

/** One path segment from hostile text: the registry's alphabet, never `.`/`..` or a leading dot. */
export function safeSegment(text: string): string {
  let s = text.replace(UNSAFE, '_').slice(0, 128);
  if (s === '' || s.startsWith('.')) s = `_${s}`;
  return s;
}

/** The directory part before the first placeholder: every filled template stays inside it. */
export function templateRoot(template: string): string {
  const i = template.indexOf('{');
  const head = i < 0 ? template : template.slice(0, i);
  const cut = Math.max(head.lastIndexOf('/'), head.lastIndexOf(sep));
  return resolve(cut < 0 ? '.' : head.slice(0, cut) || '/');
}

/**
 * The absolute directory for a stream's recording. Throws (a programming error, not input)
 * if the result would leave templateRoot, which safeSegment makes impossible.
 */
export function recordingDir(template: string, app: string, key: string, startedAt: Date, node = 'local'): string {
  const iso = startedAt.toISOString();
  const values: Record<string, string> = {
    app: safeSegment(app),
    key: safeSegment(key),
    date: iso.slice(0, 10),
    time: iso.slice(11, 19).replace(/:/g, ''),
    node: safeSegment(node),
  };
  const filled = template.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '_');
  const dir = resolve(filled);
  const root = templateRoot(template);
  const rel = relative(root, dir);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`recording path ${dir} escapes ${root}`);
  return dir;
}

/**
 * `dir`, or `dir_2`, `dir_3`... : the first that `claim` takes (a second recording the same day).
 * `claim` must be atomic (mkdir without `recursive`: EEXIST means taken), so two processes
 * writing to one filesystem never share a directory.
 */
export function claimDir(dir: string, claim: (d: string) => boolean): string {
  if (claim(dir)) return dir;
  for (let n = 2; n < 10_000; n++) if (claim(`${dir}_${n}`)) return `${dir}_${n}`;
  throw new Error(`no free recording directory next to ${dir}`);
}

export const INDEX_FILE = 'index.jsonl';
export function segmentName(n: number): string {
  return `${String(n).padStart(6, '0')}.flv`;
}
