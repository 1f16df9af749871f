import type { CodecConfig, DemuxOutput } from '../frame.js';
import { aacConfigFromAsc, buildAudioSpecificConfig, parseAdtsHeader } from '../codec/aac.js';

/** Samples in one AAC frame (AAC-LC; SBR doubles the output but ADTS timing stays per 1024). */
const SAMPLES_PER_FRAME = 1024;

/**
 * ADTS PES payloads -> raw AAC frames, each stamped from the PES PTS plus 1024 samples per frame
 * before it; a config whenever the header's object type, rate or channels change. A frame cut by
 * the PES end or carrying several raw blocks is dropped and counted; a lost sync word skips to the
 * next one.
 */
export class AdtsEsReader {
  config: CodecConfig | undefined;
  dropped = 0;
  private key = '';

  read(pes: Uint8Array, ptsMs: number, out: DemuxOutput[]): void {
    let pos = 0;
    let index = 0;
    while (pos + 7 <= pes.length) {
      if (pes[pos] !== 0xff || (pes[pos + 1]! & 0xf6) !== 0xf0) {
        pos++;
        continue;
      }
      let h;
      try {
        h = parseAdtsHeader(pes, pos);
      } catch {
        pos++;
        continue;
      }
      if (pos + h.frameLength > pes.length) {
        this.dropped++;
        return;
      }
      const key = `${h.objectType}/${h.sampleRate}/${h.channelConfig}`;
      if (key !== this.key) {
        let config: CodecConfig;
        try {
          config = aacConfigFromAsc(buildAudioSpecificConfig(h));
        } catch {
          this.dropped++;
          pos += h.frameLength;
          continue;
        }
        this.key = key;
        this.config = config;
        out.push({ type: 'config', config });
      }
      if (h.blocks !== 1) {
        this.dropped++;
      } else {
        const t = ptsMs + (index * SAMPLES_PER_FRAME * 1000) / h.sampleRate;
        const data = new Uint8Array(pes.subarray(pos + h.headerLength, pos + h.frameLength));
        if (data.length > 0) out.push({ type: 'frame', frame: { kind: 'audio', codec: 'aac', dts: t, pts: t, keyframe: true, reference: true, data } });
      }
      index++;
      pos += h.frameLength;
    }
  }
}
