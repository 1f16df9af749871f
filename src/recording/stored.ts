import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { INDEX_FILE, templateRoot } from './pathTemplate.js';

/** A recording found on disk by its index (one made by an earlier process, or before a crash). */
export interface StoredRecording {
  app: string;
  key: string;
  dir: string;
  startedAt: string;
  segmentCount: number;
  durationMs: number;
  bytes: number;
  /** An `end` line: it finished cleanly. False after a crash (its last segment is not indexed). */
  ended: boolean;
}

/** Bounds of one scan: the API must answer quickly whatever is on the disk. */
const MAX_DIRS = 5000;
const MAX_FOUND = 500;
const MAX_INDEX_BYTES = 16 << 20;

/**
 * Recordings under the templates' roots, found by walking as deep as each template goes (its
 * segments after the root, and `_N` siblings at the same depth). Directories and indexes that
 * cannot be read are skipped; lines that do not parse are ignored.
 */
export async function storedRecordings(templates: readonly string[], skip: ReadonlySet<string>): Promise<StoredRecording[]> {
  const found: StoredRecording[] = [];
  const seen = new Set<string>();
  let visited = 0;
  for (const template of templates) {
    const root = templateRoot(template);
    const depth = template.slice(template.indexOf('{')).split(/[\\/]/).filter(Boolean).length;
    let level = [root];
    for (let d = 0; d < depth && level.length > 0; d++) {
      const next: string[] = [];
      for (const dir of level) {
        if (++visited > MAX_DIRS) return found;
        const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
        for (const e of entries) if (e.isDirectory()) next.push(join(dir, e.name));
      }
      level = next;
    }
    for (const dir of level) {
      if (found.length >= MAX_FOUND) return found;
      if (seen.has(dir) || skip.has(dir)) continue;
      seen.add(dir);
      const r = await readStored(dir);
      if (r) found.push(r);
    }
  }
  return found;
}

async function readStored(dir: string): Promise<StoredRecording | undefined> {
  const file = join(dir, INDEX_FILE);
  const size = await stat(file).then((s) => s.size, () => -1);
  if (size < 0 || size > MAX_INDEX_BYTES) return undefined;
  const text = await readFile(file, 'utf8').catch(() => '');
  const r: StoredRecording = { app: '', key: '', dir, startedAt: '', segmentCount: 0, durationMs: 0, bytes: 0, ended: false };
  for (const line of text.split('\n')) {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof e !== 'object' || e === null) continue;
    if (e.type === 'start') {
      r.app = String(e.app ?? '');
      r.key = String(e.key ?? '');
      r.startedAt = String(e.startedAt ?? '');
    } else if (e.type === 'segment') {
      r.segmentCount++;
      r.durationMs += Number(e.durationMs) || 0;
      r.bytes += Number(e.bytes) || 0;
    } else if (e.type === 'end') r.ended = true;
  }
  r.durationMs = Math.round(r.durationMs);
  return r.startedAt ? r : undefined;
}
