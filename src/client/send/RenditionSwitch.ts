/**
 * Picks one rendition of an encoder ladder to send and switches between them at keyframes.
 *
 * The ladder is one ffmpeg that encodes the same pictures N times (a split filter, fixed GOP,
 * no scene-cut keyframes), so every rendition has a keyframe at the same dts. Switching from
 * rung A to rung B at dts K: A's frames up to K-1, then B's from its keyframe at K; the viewer's
 * decoder sees an IDR where it expects a picture, and no picture is missing or doubled. The
 * renditions' frames come through separate pipes, so B's keyframe may arrive before or after
 * A's: each rung keeps its frames since its last keyframe until the switch is decided.
 *
 * Sans-IO: the caller feeds demuxed output per rung and the transport's target; nothing here
 * reads a clock or a pipe. Audio comes on a pipe of its own (in a rung's FLV, the AAC priming
 * delay would shift that rung's timestamps by 21 ms and its keyframes would no longer line up).
 */
import type { CodecConfig, DemuxOutput, MediaFrame } from '../../media/frame.js';

export interface RenditionSwitchOptions {
  /** Video bitrate of each rung, bit/s, lowest first. */
  rungsBps: number[];
  /** Bitrate of the audio that goes with every rung (its own pipe), bit/s. */
  audioBps: number;
  /** Nominal frame interval, ms: the gap left between the timelines of two encoder processes. */
  frameMs: number;
  /** The rung to start on (default: the highest at or below 1 Mbit/s, the transport's default start). */
  startRung?: number;
  /** Frames kept per rung while it waits to be switched to (default 240, two GOPs at 120 fps). */
  maxQueue?: number;
}

export interface RenditionSwitchStats {
  rung: number;
  /** The rung the target asks for (the switch happens at the next keyframe). */
  wantedRung: number;
  switches: number;
  /** Switches where the new rung had no keyframe at the switch dts (misaligned GOPs): frames dropped until one came. */
  misaligned: number;
  /** Video frames dropped while waiting for a keyframe (start, restart, misaligned switch). */
  droppedWaitingKeyframe: number;
  restarts: number;
}

/** A rung fits when its video plus the audio is at most this share of the target... */
const DOWN_SHARE = 0.95;
/** ...and the next rung up is taken only when it fits in this share (a band against flapping). */
const UP_SHARE = 0.85;

export class RenditionSwitch {
  private rung: number;
  private wanted: number;
  private readonly queues: MediaFrame[][];
  private readonly configs: Array<CodecConfig | undefined>;
  private sentVideoConfig: Uint8Array | undefined;
  /** The next video frame sent must be a keyframe (start, after a restart, misaligned switch). */
  private needKeyframe = true;
  /** Frames of the current rung below this dts were already sent from the previous rung. */
  private switchAt = -Infinity;
  /** Added to the encoder's timestamps so a restarted process continues the timeline. */
  private offset = 0;
  private rebase = false;
  private lastOut = -Infinity;
  /** The newest dts sent of any kind (a restarted process continues after it). */
  private lastAny = -Infinity;
  private checkAlignment = false;
  private readonly maxQueue: number;
  readonly stats: RenditionSwitchStats;

  constructor(private readonly o: RenditionSwitchOptions) {
    if (o.rungsBps.length === 0) throw new RangeError('a ladder needs at least one rung');
    for (let i = 1; i < o.rungsBps.length; i++) if (!(o.rungsBps[i]! > o.rungsBps[i - 1]!)) throw new RangeError('ladder rungs must rise');
    const start = o.startRung ?? Math.max(0, o.rungsBps.findLastIndex((b) => b + o.audioBps <= 1_000_000));
    this.rung = this.wanted = Math.min(o.rungsBps.length - 1, Math.max(0, start));
    this.queues = o.rungsBps.map(() => []);
    this.configs = o.rungsBps.map(() => undefined);
    this.maxQueue = o.maxQueue ?? 240;
    this.stats = { rung: this.rung, wantedRung: this.wanted, switches: 0, misaligned: 0, droppedWaitingKeyframe: 0, restarts: 0 };
  }

  /** Video bitrate of the rung being sent, bit/s. */
  get bitrateBps(): number {
    return this.o.rungsBps[this.rung]!;
  }

  /** The transport's target (media bit/s the uplink can carry now): chooses the rung for the next keyframe. */
  setTarget(targetBps: number): void {
    if (!(targetBps > 0) || !Number.isFinite(targetBps)) return;
    const fits = (i: number, share: number) => this.o.rungsBps[i]! + this.o.audioBps <= share * targetBps;
    let want = this.wanted;
    if (!fits(want, DOWN_SHARE)) {
      while (want > 0 && !fits(want, UP_SHARE)) want--;
    } else {
      while (want + 1 < this.o.rungsBps.length && fits(want + 1, UP_SHARE)) want++;
    }
    this.wanted = this.stats.wantedRung = want;
  }

  /**
   * The encoder process was restarted: its timestamps begin again near 0 and its first
   * pictures are a new GOP. Frames continue from the new process's first keyframe, on the
   * old timeline.
   */
  restart(): void {
    for (const q of this.queues) q.length = 0;
    this.configs.fill(undefined);
    this.rung = this.stats.rung = this.wanted;
    this.needKeyframe = true;
    this.switchAt = -Infinity;
    this.checkAlignment = false;
    this.lastOut = -Infinity;
    this.rebase = true;
    this.stats.restarts++;
  }

  /** One demuxed output of the audio pipe: passed through on the switch's timeline. */
  pushAudio(out: DemuxOutput): DemuxOutput[] {
    if (out.type === 'metadata') return [];
    if (out.type === 'config') return out.config.kind === 'audio' ? [out] : [];
    if (out.frame.kind !== 'audio') return [];
    const f = this.retime(out.frame);
    this.lastAny = Math.max(this.lastAny, f.dts);
    return [{ type: 'frame', frame: f }];
  }

  /** One demuxed output of rung `rung`'s pipe (video only); returns what to send, in order. */
  push(rung: number, out: DemuxOutput): DemuxOutput[] {
    if (rung < 0 || rung >= this.queues.length) return [];
    if (out.type === 'metadata') {
      // The encoder's onMetaData, with the rate of the rung being sent (the sender starts its controller there).
      return rung === 0 ? [{ type: 'metadata', values: { ...out.values, videodatarate: this.bitrateBps / 1000, audiodatarate: this.o.audioBps / 1000 } }] : [];
    }
    if (out.type === 'config') {
      if (out.config.kind !== 'video') return [];
      this.configs[rung] = out.config;
      return rung === this.rung ? this.videoConfig() : [];
    }
    if (out.frame.kind !== 'video') return [];
    const f = this.retime(out.frame);
    if (rung !== this.rung) {
      this.keep(rung, f);
      return [];
    }
    if (f.dts < this.switchAt || f.dts <= this.lastOut) return [];
    if (f.keyframe && this.wanted !== this.rung && !this.needKeyframe) return this.switchTo(this.wanted, f.dts);
    return this.send(f);
  }

  private retime(f: MediaFrame): MediaFrame {
    if (this.rebase) {
      this.rebase = false;
      this.offset = (this.lastAny === -Infinity ? 0 : this.lastAny + this.o.frameMs) - f.dts;
    }
    return this.offset === 0 ? f : { ...f, dts: f.dts + this.offset, pts: f.pts + this.offset };
  }

  private keep(rung: number, f: MediaFrame): void {
    const q = this.queues[rung]!;
    if (f.keyframe) q.length = 0;
    else if (q.length === 0) return; // nothing to decode it from
    q.push(f);
    if (q.length > this.maxQueue) q.length = 0;
  }

  /** The current rung's keyframe at `dts` came: send the new rung from its keyframe at the same dts. */
  private switchTo(next: number, dts: number): DemuxOutput[] {
    this.queues[this.rung]!.length = 0;
    this.rung = this.stats.rung = next;
    this.stats.switches++;
    this.switchAt = dts;
    this.needKeyframe = true;
    this.checkAlignment = true;
    const out: DemuxOutput[] = this.videoConfig();
    const q = this.queues[next]!.filter((f) => f.dts >= dts);
    this.queues[next]!.length = 0;
    for (const f of q) out.push(...this.send(f));
    return out;
  }

  private send(f: MediaFrame): DemuxOutput[] {
    if (this.checkAlignment) {
      // The new rung's first frame at or past the switch point should be its keyframe at that dts.
      this.checkAlignment = false;
      if (!(f.keyframe && f.dts === this.switchAt)) this.stats.misaligned++;
    }
    if (this.needKeyframe && !f.keyframe) {
      this.stats.droppedWaitingKeyframe++;
      return [];
    }
    this.needKeyframe = false;
    this.lastOut = f.dts;
    this.lastAny = Math.max(this.lastAny, f.dts);
    return [{ type: 'frame', frame: f }];
  }

  private videoConfig(): DemuxOutput[] {
    const c = this.configs[this.rung];
    if (!c || (this.sentVideoConfig && sameBytes(this.sentVideoConfig, c.data))) return [];
    this.sentVideoConfig = c.data;
    return [{ type: 'config', config: c }];
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
