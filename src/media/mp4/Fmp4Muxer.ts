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

  constructor(readonly track: Mp4Track) {
    // Used for the last sample when nothing follows it: one 30 fps picture, or one 1024-sample AAC frame.
    this.lastDuration = track.kind === 'video' ? Math.round(track.timescale / 30) : 1024;
  }

  push(frame: MediaFrame): void {
    const t = this.track.timescale;
    let decode = Math.round((frame.dts * t) / 1000);
    // Timestamps that stand still or go back would give zero or negative durations.
    if (decode <= this.lastDecode) decode = this.lastDecode + 1;
    this.lastDecode = decode;
    this.queue.push({ frame, decode });
  }

  /** Samples whose duration is known (all but the last), or all of them with `all`. */
  take(all: boolean): TrackRun | undefined {
    const n = all ? this.queue.length : this.queue.length - 1;
    if (n <= 0) return undefined;
    const t = this.track.timescale;
    const samples: Mp4Sample[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.queue[i]!;
      const next = this.queue[i + 1];
      const duration = next ? next.decode - p.decode : this.lastDuration;
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
 * Frames in, fMP4 out. A sample's duration is the distance to the next frame of its track,
 * so the newest frame of each track is held back until its successor arrives (or `flushAll`
 * at the end gives it the previous duration). Each fragment carries one traf per track
 * (video then audio) and one mdat, so an LL-HLS part is exactly one fragment.
 *
 * Calling rule: push a frame, then flush; the frame just pushed stays queued and opens the
 * next fragment, which is how a packager cuts "before" a keyframe.
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

  /** A fragment of every queued sample whose duration is known; empty when there is none. */
  flush(): Uint8Array {
    return this.emit(false);
  }

  /** A fragment of everything queued (at the end of a stream). */
  flushAll(): Uint8Array {
    return this.emit(true);
  }

  private emit(all: boolean): Uint8Array {
    const runs: TrackRun[] = [];
    for (const q of this.queues) {
      const r = q.take(all);
      if (r) runs.push(r);
    }
    if (runs.length === 0) return new Uint8Array(0);
    return buildFragment(this.sequence++, runs);
  }
}
