import type { Stream } from '../../server/Stream.js';

export interface VariantEntry {
  /** The rendition's key (its media playlist is ../KEY/index.m3u8 from the source's folder). */
  key: string;
  stream: Stream;
  kbps: number;
}

/**
 * The LL-HLS multivariant playlist of a stream with a ladder, at /APP/KEY/master.m3u8: one
 * EXT-X-STREAM-INF per live rendition (best first), each pointing at that rendition's own
 * LL-HLS media playlist, so hls.js does ABR by itself among renditions whose keyframes are
 * aligned. BANDWIDTH is the peak the encoder is held to (VBV maxrate) plus audio.
 */
export function renderMultivariant(variants: readonly VariantEntry[], query = ''): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of variants) {
    const s = v.stream;
    const codecs = [s.videoConfig?.codecString, s.audioConfig?.codecString].filter(Boolean).join(',');
    const bandwidth = Math.round((v.kbps + (s.audioConfig ? 128 : 0)) * 1000);
    const res = s.videoConfig?.width && s.videoConfig.height ? `,RESOLUTION=${s.videoConfig.width}x${s.videoConfig.height}` : '';
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},AVERAGE-BANDWIDTH=${Math.round(bandwidth * 0.8)}${res}${codecs ? `,CODECS="${codecs}"` : ''},NAME="${v.key}"`);
    lines.push(`../${v.key}/index.m3u8${query}`);
  }
  return lines.join('\n') + '\n';
}
