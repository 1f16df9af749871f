/**
 * The recording figure of origin-kill: of the nodes that survived, the one whose recording of
 * the stream started before the kill and went on after it (the replica; the new owner's own
 * recording starts at the failover), and the longest gap its index notes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlvDemuxer } from '../../media/flv/FlvDemuxer.js';
import { frameId } from '../fanout/stream.js';

export interface SurvivingRecording {
  node: string;
  gapMs: number;
  segments: number;
  durationMs: number;
  /** The publisher's frame ids found in the recording's segments. */
  ids: Set<number>;
}

export function survivingRecording(root: string, nodes: string[], path: string, killWall: number): SurvivingRecording | undefined {
  for (const node of nodes) {
    const index = join(root, node, path, 'index.jsonl');
    if (!existsSync(index)) continue;
    const lines = readFileSync(index, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; startedAt?: string; closedAt?: string; gapMs?: number; durationMs?: number });
    const started = Date.parse(lines[0]?.startedAt ?? '');
    const segs = lines.filter((l) => l.type === 'segment');
    if (!(started < killWall) || !segs.some((l) => Date.parse(l.closedAt ?? '') > killWall + 1000)) continue;
    const gaps = lines.filter((l) => l.type === 'gap').map((l) => l.gapMs ?? 0);
    const ids = new Set<number>();
    for (const seg of segs as { file?: string }[]) {
      for (const o of new FlvDemuxer().push(readFileSync(join(root, node, path, seg.file ?? '')))) {
        const id = o.type === 'frame' && o.frame.kind !== 'data' ? frameId(o.frame) : undefined;
        if (id !== undefined) ids.add(id);
      }
    }
    return { node, gapMs: Math.max(0, ...gaps), segments: segs.length, durationMs: Math.round(segs.reduce((a, l) => a + (l.durationMs ?? 0), 0)), ids };
  }
  return undefined;
}
