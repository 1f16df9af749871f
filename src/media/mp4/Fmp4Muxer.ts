import type { MediaFrame } from '../frame.js';
import { buildFragment, type Mp4Sample, type TrackRun } from './fragment.js';
import { buildInitSegment } from './initSegment.js';
import type { Mp4Track } from './track.js';

interface Pending {
  frame: MediaFrame;
  /** Decode time in the track timescale, strictly increasing within the track. */
  decode: number;
}

class TrackQueue {
  queue: Pending[] = [];
  /** Decode time of the last frame accepted, so the next one can be kept strictly later. */
  lastDecode = -Infinity;
  lastDuration: number;
  /**
   * AAC frames always hold the same number of samples: their duration is known on arrival, so audio is never
   * held back and a fragment's audio reaches as far as its video (players buffer the
   * intersection; audio stopping short of a part's end makes hls.js reload that part forever).
   */
  readonly fixedDuration: number | undefined;

  constructor(readonly track: Mp4Track) {
    this.fixedDuration = track.codec === 'aac' ? track.samplesPerFrame || 1024 : undefined;
    // Used for the last sample when nothing follows it: one 30 fps picture.
    this.lastDuration = this.fixedDuration ?? Math.round(track.timescale / 30);
  }

  push(frame: MediaFrame): void {
    const t = this.track.timescale;
    let decode = Math.round((frame.dts * t) / 1000);
    const fixed = this.fixedDuration;
    // Millisecond timestamps jitter by up to half a millisecond; keep audio frames back to back.
    if (fixed !== undefined && Math.abs(decode - (this.lastDecode + fixed)) < fixed / 2) decode = this.lastDecode + fixed;
    // Timestamps that stand still or go back would give zero or negative durations.
    if (decode <= this.lastDecode) decode = this.lastDecode + 1;
    this.lastDecode = decode;
    this.queue.push({ frame, decode });
  }

  /**
   * Takes the samples before `endDts` (ms; the next fragment starts there), or with no end the
   * samples whose duration is known: all but the newest, or all of them with `all` or a fixed duration.
   */
  take(endDts: number | undefined, all: boolean): TrackRun | undefined {
    const t = this.track.timescale;
    let n: number;
    if (endDts !== undefined) {
      n = 0;
      while (n < this.queue.length && this.queue[n]!.frame.dts < endDts) n++;
    } else {
      n = all || this.fixedDuration !== undefined ? this.queue.length : this.queue.length - 1;
    }
    if (n <= 0) return undefined;
    const endDecode = endDts === undefined ? undefined : Math.round((endDts * t) / 1000);
    const samples: Mp4Sample[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.queue[i]!;
      const next = this.queue[i + 1];
      let duration: number;
      if (next) duration = next.decode - p.decode; // a gap inside a fragment can only be a longer duration
      else if (this.fixedDuration !== undefined) duration = this.fixedDuration;
      else if (endDecode !== undefined) duration = Math.max(1, endDecode - p.decode);
      else duration = this.lastDuration;
      this.lastDuration = duration;
      let cto = Math.round((p.frame.pts * t) / 1000) - p.decode;
      if (cto > 0x7fffffff || cto < -0x80000000) cto = 0;
      samples.push({ duration, cto, keyframe: p.frame.keyframe, reference: p.frame.reference, data: p.frame.data });
    }
    const baseDecodeTime = this.queue[0]!.decode;
    this.queue.splice(0, n);
    return { trackId: this.track.id, baseDecodeTime, samples };
  }
}

/**
 * Frames in, fMP4 out. A video sample's duration is the distance to the next frame of its
 * track, so the newest video frame is held back until its successor arrives, or until a
 * fragment is cut at a known time (`flush(endDts)`: a packager cuts before the frame that
 * opens the next part, so it knows where this one ends). AAC frames have a fixed duration and
 * are never held. Each fragment carries one traf per track (video then audio) and one mdat,
 * so an LL-HLS part is exactly one fragment.
 */
export class Fmp4Muxer {
  readonly tracks: readonly Mp4Track[];
  private readonly queues: TrackQueue[];
  private sequence = 1;

  constructor(tracks: readonly Mp4Track[]) {
    this.tracks = tracks;
    this.queues = tracks.map((t) => new TrackQueue(t));
  }

  initSegment(): Uint8Array {
    return buildInitSegment(this.tracks);
  }

  /** Queues a frame; frames of a kind with no track (data, or an unsupported codec) are ignored. */
  push(frame: MediaFrame): boolean {
    const q = this.queues.find((x) => x.track.kind === frame.kind);
    if (!q) return false;
    q.push(frame);
    return true;
  }

  /**
   * A fragment of the queued samples before `endDts` (ms), the last video sample ending there;
   * without `endDts`, of every queued sample whose duration is known. Empty when there is none.
   */
  flush(endDts?: number): Uint8Array {
    return this.emit(endDts, false);
  }

  /** A fragment of everything queued (at the end of a stream). */
  flushAll(): Uint8Array {
    return this.emit(undefined, true);
  }

  private emit(endDts: number | undefined, all: boolean): Uint8Array {
    const runs: TrackRun[] = [];
    for (const q of this.queues) {
      const r = q.take(endDts, all);
      if (r) runs.push(r);
    }
    if (runs.length === 0) return new Uint8Array(0);
    return buildFragment(this.sequence++, runs);
  }
}
