import { box, fullBox, u32, u64, writeU32 } from './boxes.js';

/** One sample of a track run; times in the track's timescale. */
export interface Mp4Sample {
  duration: number;
  /** Composition time offset (pts - dts), may be negative (trun version 1). */
  cto: number;
  keyframe: boolean;
  /** False for disposable pictures (nobody references them). */
  reference: boolean;
  data: Uint8Array;
}

/** The samples of one track inside one fragment. */
export interface TrackRun {
  trackId: number;
  /** Decode time of the first sample, in the track's timescale (tfdt). */
  baseDecodeTime: number;
  samples: readonly Mp4Sample[];
}

/** tfhd flag: data offsets are relative to the moof (CMAF, what MSE and hls.js expect). */
const DEFAULT_BASE_IS_MOOF = 0x020000;
/** trun flags: data-offset, sample duration, size, flags, composition offset present. */
const TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800;

/**
 * sample_flags: depends_on = 2 (depends on nothing) for sync samples; depends_on = 1 plus
 * is_non_sync for the rest; is_depended_on = 2 for disposable pictures.
 */
export function sampleFlags(s: Pick<Mp4Sample, 'keyframe' | 'reference'>): number {
  const base = s.keyframe ? 0x02000000 : 0x01010000;
  return s.reference ? base : base | 0x00800000;
}

/**
 * One movie fragment: moof (mfhd, one traf per run) then one mdat holding the runs' samples
 * in the same order. Runs with no samples are left out. Returns an empty array if no run has
 * samples (an empty moof would make players error).
 */
export function buildFragment(sequence: number, runs: readonly TrackRun[]): Uint8Array {
  const used = runs.filter((r) => r.samples.length > 0);
  if (used.length === 0) return new Uint8Array(0);
  const trafs: Uint8Array[] = [];
  const trunOffsetPos: number[] = [];
  let mdatBytes = 0;
  for (const r of used) {
    const entries = new Uint8Array(r.samples.length * 16);
    let p = 0;
    for (const s of r.samples) {
      writeU32(entries, p, s.duration);
      writeU32(entries, p + 4, s.data.length);
      writeU32(entries, p + 8, sampleFlags(s));
      writeU32(entries, p + 12, s.cto | 0);
      p += 16;
      mdatBytes += s.data.length;
    }
    const tfhd = fullBox('tfhd', 0, DEFAULT_BASE_IS_MOOF, u32(r.trackId));
    const tfdt = fullBox('tfdt', 1, 0, u64(Math.max(0, Math.round(r.baseDecodeTime))));
    const trun = fullBox('trun', 1, TRUN_FLAGS, u32(r.samples.length), u32(0), entries);
    // Where trun's data_offset sits inside the traf: traf header + tfhd + tfdt + trun header(12) + count(4).
    trunOffsetPos.push(8 + tfhd.length + tfdt.length + 16);
    trafs.push(box('traf', tfhd, tfdt, trun));
  }
  const mfhd = fullBox('mfhd', 0, 0, u32(sequence));
  const moof = box('moof', mfhd, ...trafs);
  const out = new Uint8Array(moof.length + 8 + mdatBytes);
  out.set(moof, 0);
  // Patch each trun's data_offset (from the moof start) now that the moof size is known.
  let trafPos = 8 + mfhd.length;
  let dataPos = moof.length + 8;
  used.forEach((r, i) => {
    writeU32(out, trafPos + trunOffsetPos[i]!, dataPos);
    for (const s of r.samples) dataPos += s.data.length;
    trafPos += trafs[i]!.length;
  });
  writeU32(out, moof.length, 8 + mdatBytes);
  out.set([0x6d, 0x64, 0x61, 0x74], moof.length + 4);
  let pos = moof.length + 8;
  for (const r of used) {
    for (const s of r.samples) {
      out.set(s.data, pos);
      pos += s.data.length;
    }
  }
  return out;
}
