import type { Bottleneck, Cursor } from '../../emulator/Bottleneck.js';
import { FULL_PAYLOAD_BYTES } from '../../emulator/Bottleneck.js';
import type { SourceFrame } from './Source.js';

export interface OracleResult {
  audio: { onTimeRatio: number };
  video: { onTimeRatio: number };
  /** Frame id -> whether the oracle delivered it on time (and, for video, decodable). */
  usable?: Map<number, boolean>;
}

export interface OracleLink {
  bottleneck: Bottleneck | undefined;
  oneWayMs: number;
  /** [start, end) in ms of media time: the link carries nothing. */
  outages?: Array<[number, number]>;
}

/**
 * The physical limit of a run: a clairvoyant sender that knows every future delivery
 * opportunity of the bottleneck, suffers no random loss and no header overhead, sends in
 * capture order (audio first on a tie) and skips a frame that cannot arrive by its deadline,
 * together with every frame predicted from it up to the next keyframe (they could not be
 * decoded, so their bytes would only be wasted). Outages still apply: a packet cannot leave
 * inside one.
 *
 * Each frame goes out as datagrams of up to FULL_PAYLOAD_BYTES, which fill a trace link's
 * opportunity exactly (the link charges IP and UDP headers, as Mahimahi does).
 */
export function oracle(
  frames: SourceFrame[],
  bottleneck: Bottleneck | undefined,
  oneWayMs: number,
  latencyMs: number,
  outages: Array<[number, number]> = [],
): OracleResult {
  const { audio, video } = oracleOver(frames, [{ bottleneck, oneWayMs, outages }], latencyMs);
  return { audio, video };
}

/**
 * The same over several links at once (bonding): each packet takes whichever link delivers it
 * first, given every link's future opportunities and outages.
 */
export function oracleOver(frames: SourceFrame[], links: OracleLink[], latencyMs: number): OracleResult {
  const cursors = links.map((l) => l.bottleneck?.newCursor());
  const usable = new Map<number, boolean>();
  let audioSent = 0, audioOk = 0, videoSent = 0, videoOk = 0;
  for (const f of frames) {
    if (f.kind === 'audio') audioSent++;
    else videoSent++;
    const deps = f.kind === 'audio' || f.refId < 0 || usable.get(f.refId) === true;
    if (!deps) {
      usable.set(f.id, false);
      continue;
    }
    const deadline = f.capture + latencyMs;
    const saved = cursors.map((c) => (c ? { ...c } : undefined));
    let fits = true;
    let left = f.size;
    do {
      const n = Math.min(FULL_PAYLOAD_BYTES, Math.max(1, left));
      left -= n;
      let best = Infinity, bestLink = -1, bestPos: Cursor | undefined;
      for (let i = 0; i < links.length; i++) {
        const at = arrival(links[i]!, cursors[i], f.capture, n, deadline);
        if (at.time < best) {
          best = at.time;
          bestLink = i;
          bestPos = at.pos;
        }
      }
      if (best > deadline) {
        fits = false;
        break;
      }
      const c = cursors[bestLink];
      if (c && bestPos) Object.assign(c, bestPos);
    } while (left > 0);
    if (!fits) cursors.forEach((c, i) => c && Object.assign(c, saved[i]!));
    usable.set(f.id, fits);
    if (fits && f.kind === 'audio') audioOk++;
    if (fits && f.kind === 'video') videoOk++;
  }
  return {
    audio: { onTimeRatio: audioSent ? audioOk / audioSent : 0 },
    video: { onTimeRatio: videoSent ? videoOk / videoSent : 0 },
    usable,
  };
}

/** When a packet ready at `ready` would arrive over a link, and the cursor position it would leave; the cursor is not moved. */
function arrival(link: OracleLink, cur: Cursor | undefined, ready: number, bytes: number, deadline: number): { time: number; pos: Cursor | undefined } {
  const outageEnd = (t: number) => link.outages?.find(([a, b]) => t >= a && t < b)?.[1];
  if (!link.bottleneck || !cur) {
    const end = outageEnd(ready);
    return { time: (end ?? ready) + link.oneWayMs, pos: undefined };
  }
  const probe: Cursor = { ...cur };
  let leave = link.bottleneck.serve(probe, ready, bytes);
  // a packet whose slot falls in an outage waits for the next slot after it
  for (let end = outageEnd(leave); end !== undefined && leave < deadline; end = outageEnd(leave)) {
    leave = link.bottleneck.serve(probe, end, bytes);
  }
  return { time: leave + link.oneWayMs, pos: probe };
}
