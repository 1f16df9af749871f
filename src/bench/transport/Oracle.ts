import type { Bottleneck } from '../../emulator/Bottleneck.js';
import { TRACE_PACKET_BYTES } from '../../emulator/Trace.js';
import type { SourceFrame } from './Source.js';

export interface OracleResult {
  audio: { onTimeRatio: number };
  video: { onTimeRatio: number };
}

/**
 * The physical limit of a run: a clairvoyant sender that knows every future delivery
 * opportunity of the bottleneck, suffers no random loss and no header overhead, sends in
 * capture order (audio first on a tie) and skips a frame that cannot arrive by its deadline,
 * together with every frame predicted from it up to the next keyframe (they could not be
 * decoded, so their bytes would only be wasted). Outages still apply: a packet cannot leave
 * inside one.
 *
 * Each frame goes out as packets of up to 1500 bytes, the bottleneck's unit.
 */
export function oracle(
  frames: SourceFrame[],
  bottleneck: Bottleneck | undefined,
  oneWayMs: number,
  latencyMs: number,
  outages: Array<[number, number]> = [],
): OracleResult {
  const cur = bottleneck?.newCursor();
  const usable = new Map<number, boolean>();
  let audioSent = 0, audioOk = 0, videoSent = 0, videoOk = 0;
  const outageEnd = (t: number) => outages.find(([a, b]) => t >= a && t < b)?.[1];
  for (const f of frames) {
    if (f.kind === 'audio') audioSent++;
    else videoSent++;
    const deps = f.kind === 'audio' || f.refId < 0 || usable.get(f.refId) === true;
    if (!deps) {
      usable.set(f.id, false);
      continue;
    }
    const deadline = f.capture + latencyMs;
    let fits = true;
    let arrive = f.capture + oneWayMs;
    const saved = cur ? cur.pos : 0;
    if (bottleneck && cur) {
      let left = f.size;
      while (left > 0) {
        const n = Math.min(TRACE_PACKET_BYTES, left);
        left -= n;
        let leave = bottleneck.serve(cur, f.capture, n);
        // a packet whose slot falls in an outage waits for the next slot after it
        for (let end = outageEnd(leave); end !== undefined && leave < deadline; end = outageEnd(leave)) {
          leave = bottleneck.serve(cur, end, n);
        }
        arrive = leave + oneWayMs;
        if (arrive > deadline) {
          fits = false;
          break;
        }
      }
    } else if (outageEnd(f.capture) !== undefined) {
      fits = false;
    }
    if (arrive > deadline) fits = false;
    if (!fits && cur) cur.pos = saved;
    usable.set(f.id, fits);
    if (fits && f.kind === 'audio') audioOk++;
    if (fits && f.kind === 'video') videoOk++;
  }
  return {
    audio: { onTimeRatio: audioSent ? audioOk / audioSent : 0 },
    video: { onTimeRatio: videoSent ? videoOk / videoSent : 0 },
  };
}
