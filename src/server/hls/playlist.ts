import type { HlsPackager, HlsSegment } from './HlsPackager.js';

/** File names the playlist points at; HlsService parses the same shapes back. */
export const initName = (generation: number): string => `init${generation}.mp4`;
export const segmentName = (msn: number): string => `seg${msn}.m4s`;
export const partName = (msn: number, index: number): string => `part${msn}.${index}.m4s`;

/** Segments this close to the live edge list their parts (the spec asks for at least the last 3 target durations). */
const PART_LISTING_TARGETS = 3;

const secs = (ms: number): string => (ms / 1000).toFixed(5);

/** Where another rendition of the same ladder stands (EXT-X-RENDITION-REPORT). */
export interface RenditionReport {
  /** Its media playlist, relative to this one (as the multivariant playlist names it). */
  uri: string;
  lastMsn: number;
  lastPart: number;
}

function partLines(seg: HlsSegment, lines: string[], query: string): void {
  for (const p of seg.parts) {
    lines.push(`#EXT-X-PART:DURATION=${secs(p.durationMs)},URI="${partName(seg.msn, p.index)}${query}"${p.independent ? ',INDEPENDENT=YES' : ''}`);
  }
}

/**
 * The LL-HLS media playlist (draft-pantos-hls-rfc8216bis): version 9, blocking reload, part
 * and hold-back figures, the init map, the window of segments with their parts near the live
 * edge, and a preload hint for the part being filled. Plain HLS clients ignore the part tags
 * and play the `seg<N>.m4s` entries. `query` ("?token=...") is appended to every URI so that
 * a player given a tokenized playlist URL can fetch the media too. `reports` are the other
 * renditions of its ladder: a player switching to one asks for its next part at once (a
 * blocking reload with _HLS_msn/_HLS_part) instead of loading its playlist first to learn
 * where it stands, which cost a round trip at the moment the buffer was lowest.
 */
export function renderPlaylist(p: HlsPackager, generation: number, query = '', reports: readonly RenditionReport[] = []): string {
  const target = p.targetDurationS;
  const partTarget = p.opts.partTargetMs / 1000;
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:9',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${(3 * partTarget).toFixed(3)},HOLD-BACK=${(3 * target).toFixed(3)}`,
    `#EXT-X-PART-INF:PART-TARGET=${partTarget.toFixed(3)}`,
    `#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`,
    `#EXT-X-MAP:URI="${initName(generation)}${query}"`,
  ];
  let listedFromMs = Infinity;
  const edge = p.current ? p.current.startDts : 0;
  for (const seg of p.segments) {
    if (edge - seg.startDts <= PART_LISTING_TARGETS * target * 1000) listedFromMs = Math.min(listedFromMs, seg.startDts);
  }
  for (const seg of p.segments) {
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(seg.programDateTime).toISOString()}`);
    if (seg.startDts >= listedFromMs) partLines(seg, lines, query);
    lines.push(`#EXTINF:${secs(seg.durationMs)},`, segmentName(seg.msn) + query);
  }
  const cur = p.current;
  if (cur) {
    if (cur.parts.length > 0) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(cur.programDateTime).toISOString()}`);
      partLines(cur, lines, query);
    }
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${partName(cur.msn, cur.parts.length)}${query}"`);
  }
  for (const r of reports) lines.push(`#EXT-X-RENDITION-REPORT:URI="${r.uri}${query}",LAST-MSN=${r.lastMsn},LAST-PART=${r.lastPart}`);
  return lines.join('\n') + '\n';
}
