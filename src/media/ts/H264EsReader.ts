import type { CodecConfig, DemuxOutput } from '../frame.js';
import { buildAvcConfig, h264ConfigFromRecord, h264FrameFlags, nalsToAvcc, splitAnnexB, NAL_AUD, NAL_PPS, NAL_SPS } from '../codec/h264.js';

/**
 * H.264 Annex B access units (one per PES, as every muxer in practice writes them) -> AVCC
 * frames. SPS/PPS found in-band become a config when they change and are left out of the frame
 * payload, as are AUDs. Frames before the first config are useless to a decoder and are dropped.
 */
export class H264EsReader {
  config: CodecConfig | undefined;
  dropped = 0;
  private lastSps: Uint8Array | undefined;
  private lastPps: Uint8Array | undefined;

  /** Throws MediaParseError when in-band parameter sets are malformed. */
  read(au: Uint8Array, ptsMs: number, dtsMs: number, out: DemuxOutput[]): void {
    const nals = splitAnnexB(au);
    const sps: Uint8Array[] = [];
    const pps: Uint8Array[] = [];
    const keep: Uint8Array[] = [];
    for (const n of nals) {
      const t = n[0]! & 0x1f;
      if (t === NAL_SPS) sps.push(n);
      else if (t === NAL_PPS) pps.push(n);
      else if (t !== NAL_AUD) keep.push(n);
    }
    if (sps.length > 0 && pps.length > 0 && (!same(sps[0]!, this.lastSps) || !same(pps[0]!, this.lastPps))) {
      const config = h264ConfigFromRecord(buildAvcConfig(sps.map(copy), pps.map(copy)));
      this.config = config;
      this.lastSps = copy(sps[0]!);
      this.lastPps = copy(pps[0]!);
      out.push({ type: 'config', config });
    }
    if (keep.length === 0) return;
    if (!this.config) {
      this.dropped++;
      return;
    }
    const { keyframe, reference } = h264FrameFlags(keep);
    out.push({ type: 'frame', frame: { kind: 'video', codec: 'h264', dts: dtsMs, pts: ptsMs, keyframe, reference, data: nalsToAvcc(keep) } });
  }
}

function same(a: Uint8Array, b: Uint8Array | undefined): boolean {
  if (!b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function copy(a: Uint8Array): Uint8Array {
  return new Uint8Array(a);
}
