import { Prng } from '../../emulator/Prng.js';

/** One media frame of the synthetic source. */
export interface SourceFrame {
  id: number;
  kind: 'audio' | 'video';
  /** Capture time, ms from the start of the run. */
  capture: number;
  size: number;
  keyframe: boolean;
  /** False for non-reference video frames (nothing depends on them). */
  reference: boolean;
  /** Id of the frame this one is predicted from (the previous reference frame), or -1. */
  refId: number;
}

export interface SourceOptions {
  /** Total media bitrate the source aims at, bits/s (audio included). */
  bitrateBps: number;
  /** Fraction of P frames that are non-reference (0 = x264 zerolatency: all reference). */
  nonref?: number;
  seed?: number;
  /** Adaptive mode: the encoder follows the transport's target with this delay, ms. */
  reactionMs?: number;
  /**
   * The encoder makes a keyframe when asked (`requestKeyframe`), as x264 or a WebRTC encoder
   * does on a PLI; an external encoder (OBS pushing RTMP) cannot be asked.
   */
  keyframeOnRequest?: boolean;
}

/**
 * Forced keyframes come at most this often, ms: each costs KEY_RATIO P frames, and a link in
 * an outage turns every one away (WebRTC senders throttle keyframe requests the same way).
 */
export const MIN_FORCED_KEY_INTERVAL_MS = 300;

export const FPS = 30;
export const GOP_MS = 2000;
export const KEY_RATIO = 8;
export const AUDIO_INTERVAL_MS = 20;
/** 64 kbit/s at 50 packets/s. */
export const AUDIO_BYTES = 160;
const MIN_VIDEO_BPS = 100_000;

/**
 * A live H.264-like source: 30 fps, a keyframe every 2 s about 8x a P frame, every P frame
 * predicted from the previous reference frame, and 50 audio packets/s. Frames come out in
 * capture order (audio first on a tie). With `setTarget` the video rate follows the
 * transport's target after `reactionMs`, as a real encoder's rate control does.
 */
export class SyntheticSource {
  private readonly rng: Prng;
  private nextId = 0;
  private nextVideo = 0;
  private nextAudio = 0;
  private frameIndex = 0;
  private lastRef = -1;
  /** Frame index of the current GOP's keyframe (a forced keyframe restarts the GOP). */
  private gopStart = 0;
  private keyWanted = false;
  private lastKeyAt = -Infinity;
  /** Bytes a forced keyframe spent beyond a P frame, still to be saved. */
  private debt = 0;
  /** Keyframes made on request. */
  forcedKeyframes = 0;
  private readonly targets: Array<[number, number]> = [];

  constructor(private readonly opts: SourceOptions) {
    this.rng = new Prng((opts.seed ?? 1) ^ 0x5eed);
  }

  /** Records the transport's target bitrate at `now` (adaptive mode). */
  setTarget(now: number, bps: number): void {
    if (this.targets.length > 0 && this.targets[this.targets.length - 1]![1] === bps) return;
    this.targets.push([now, bps]);
    if (this.targets.length > 64) this.targets.splice(0, this.targets.length - 64);
  }

  /** The transport lost a reference frame: the next video frame may be a keyframe. */
  requestKeyframe(): void {
    if (this.opts.keyframeOnRequest) this.keyWanted = true;
  }

  /** Time of the next frame capture. */
  nextTime(): number {
    return Math.min(this.nextVideo, this.nextAudio);
  }

  /** Frames captured at or before `now`, in capture order. */
  take(now: number): SourceFrame[] {
    const out: SourceFrame[] = [];
    while (this.nextTime() <= now) {
      if (this.nextAudio <= this.nextVideo) {
        out.push({ id: this.nextId++, kind: 'audio', capture: this.nextAudio, size: AUDIO_BYTES, keyframe: false, reference: true, refId: -1 });
        this.nextAudio += AUDIO_INTERVAL_MS;
      } else {
        out.push(this.videoFrame(this.nextVideo));
        this.frameIndex++;
        this.nextVideo = (this.frameIndex * 1000) / FPS;
      }
    }
    return out;
  }

  /** Video bits/s now: the configured rate, or in adaptive mode the delayed target minus audio. */
  videoBps(now: number): number {
    const audio = (AUDIO_BYTES * 8 * 1000) / AUDIO_INTERVAL_MS;
    let total = this.opts.bitrateBps;
    if (this.opts.reactionMs !== undefined && this.targets.length > 0) {
      const at = now - this.opts.reactionMs;
      let t: number | undefined;
      for (const [time, bps] of this.targets) if (time <= at) t = bps;
      if (t !== undefined) total = Math.min(total, t);
    }
    return Math.max(MIN_VIDEO_BPS, total - audio);
  }

  private videoFrame(capture: number): SourceFrame {
    const perGop = (GOP_MS * FPS) / 1000;
    const forced = this.keyWanted && capture - this.lastKeyAt >= MIN_FORCED_KEY_INTERVAL_MS;
    if (forced) {
      this.gopStart = this.frameIndex;
      this.forcedKeyframes++;
    }
    const key = (this.frameIndex - this.gopStart) % perGop === 0;
    if (key) {
      this.keyWanted = false;
      this.lastKeyAt = capture;
    }
    // bytes per GOP = bps * 2 s / 8; a GOP is one keyframe (8 units) and 59 P frames (1 unit)
    const unit = (this.videoBps(capture) * GOP_MS) / 1000 / 8 / (KEY_RATIO + perGop - 1);
    let bytes = key ? unit * KEY_RATIO : unit;
    // A forced keyframe is paid back by the P frames after it, as an encoder's rate control
    // (x264's VBV) takes it out of the next second's budget; a P frame gives up to half its bits.
    if (forced) this.debt += unit * (KEY_RATIO - 1);
    else if (!key && this.debt > 0) {
      const pay = Math.min(this.debt, unit / 2);
      this.debt -= pay;
      bytes -= pay;
    }
    const size = Math.max(200, Math.round(bytes));
    const reference = key || !this.rng.chance(this.opts.nonref ?? 0);
    const f: SourceFrame = { id: this.nextId++, kind: 'video', capture, size, keyframe: key, reference, refId: key ? -1 : this.lastRef };
    if (reference) this.lastRef = f.id;
    return f;
  }
}
