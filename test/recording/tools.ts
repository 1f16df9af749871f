import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GapEntry, SegmentEntry } from '../../src/recording/Recording.js';

/** Fails (never skips) when ffprobe is missing. */
export function requireFfprobe(): void {
  const r = spawnSync('ffprobe', ['-version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) throw new Error('ffprobe is required by this test but was not found (apt-get install -y ffmpeg)');
}

export type IndexEntry = SegmentEntry | GapEntry | { type: 'start' | 'end'; [k: string]: unknown };

/** Every line of a recording's index.jsonl, parsed (a torn last line is an error: the index is fsync'd whole lines). */
export function readIndex(dir: string): IndexEntry[] {
  return readFileSync(join(dir, 'index.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as IndexEntry);
}

export const segmentsOf = (index: IndexEntry[]): SegmentEntry[] => index.filter((e): e is SegmentEntry => e.type === 'segment');

export interface Probe {
  codecs: Record<string, string>;
  video: { count: number; firstMs: number; lastMs: number; spanMs: number; keyFirst: boolean; holes: number; holeAfterNonKey: number };
  audio: { count: number; firstMs: number; lastMs: number };
  /** Whatever ffprobe complained about while reading every packet. */
  errors: string;
}

/** ffprobe reads every packet of a file; video span = first pts to last pts plus the last packet's duration. */
export function probe(file: string): Promise<Probe> {
  requireFfprobe();
  return new Promise((resolve, reject) => {
    execFile('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name:packet=codec_type,dts_time,pts_time,duration_time,flags', '-of', 'json', file],
      { maxBuffer: 64 << 20, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`ffprobe ${file} failed: ${String(stderr) || err.message}`));
        const j = JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string }[]; packets?: { codec_type: string; dts_time?: string; pts_time?: string; duration_time?: string; flags?: string }[] };
        const codecs: Record<string, string> = {};
        for (const s of j.streams) codecs[s.codec_type] = s.codec_name;
        const packets = j.packets ?? [];
        const vs = packets.filter((p) => p.codec_type === 'video');
        const as = packets.filter((p) => p.codec_type === 'audio');
        const ms = (t: string | undefined) => Number(t) * 1000;
        const vPts = vs.map((p) => ms(p.pts_time));
        const vEnd = vs.length ? Math.max(...vs.map((p) => ms(p.pts_time) + (ms(p.duration_time) || 0))) : 0;
        // A hole: two video packets more than 80 ms apart (a 30 fps encoder's first step may be 57 ms). What follows one must be a keyframe.
        const vDts = vs.map((p) => ms(p.dts_time));
        let holes = 0;
        let holeAfterNonKey = 0;
        for (let i = 1; i < vs.length; i++) {
          if (vDts[i]! - vDts[i - 1]! <= 80) continue;
          holes++;
          if (!vs[i]!.flags?.startsWith('K')) holeAfterNonKey++;
        }
        resolve({
          codecs,
          video: { count: vs.length, firstMs: vs.length ? Math.min(...vPts) : NaN, lastMs: vs.length ? Math.max(...vPts) : NaN, spanMs: vs.length ? vEnd - Math.min(...vPts) : 0, keyFirst: vs[0]?.flags?.startsWith('K') ?? false, holes, holeAfterNonKey },
          audio: { count: as.length, firstMs: as.length ? ms(as[0]!.dts_time) : NaN, lastMs: as.length ? ms(as[as.length - 1]!.dts_time) : NaN },
          errors: String(stderr),
        });
      });
  });
}
