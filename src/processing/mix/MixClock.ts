/**
 * The compositor's clock, sans-IO: it says how many frames are due at `now` (frame k is due at
 * start + k / fps) and when the next one is, so the shell's timer can drift or fire late and
 * the output still has exactly fps frames a second: a late wake-up makes up the frames it
 * missed, never waits for an input. A wake-up later than `maxCatchUpFrames` frames (the process
 * was stopped) skips ahead instead of bursting, and counts the skipped frames.
 */
export class MixClock {
  private start: number | undefined;
  /** Frames produced so far (the next frame's index). */
  produced = 0;
  skipped = 0;

  constructor(
    readonly fps: number,
    private readonly maxCatchUpFrames = 5,
  ) {}

  /** Frames to produce now. */
  due(now: number): number {
    this.start ??= now;
    const target = Math.floor(((now - this.start) * this.fps) / 1000) + 1;
    let n = target - this.produced;
    if (n > this.maxCatchUpFrames) {
      this.skipped += n - 1;
      this.start = now - (this.produced * 1000) / this.fps;
      n = 1;
    }
    return Math.max(0, n);
  }

  /** Counts one produced frame; returns its index. */
  take(): number {
    return this.produced++;
  }

  /** When the next frame is due. */
  nextAt(): number {
    return (this.start ?? 0) + (this.produced * 1000) / this.fps;
  }

  /** Wall time frame `index` stood for. */
  timeOf(index: number): number {
    return (this.start ?? 0) + (index * 1000) / this.fps;
  }
}
