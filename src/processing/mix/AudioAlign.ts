/**
 * Keeps one mix input's sound with its picture. The compositor shows an input's newest picture
 * at every tick but takes its audio from a FIFO, so the sound lags the picture by whatever that
 * FIFO holds: after startup, a stall and the burst that follows it, that was anything from 20 to
 * 170 ms and it stayed there (bench lipsync across drops: 133 ms after a 500 ms guest stall).
 *
 * The audio's media time is known from the first audio frame fed to the decoder and the
 * samples taken since (the decoder's aresample=async keeps the samples on the timestamps,
 * padding gaps with silence); the picture's is the pts of the frame it was decoded from. When
 * the FIFO's head lags the picture by more than `toleranceMs`, the lag is dropped from the
 * FIFO. Sans-IO: it only does the sums; MixInput applies them.
 */
export class AudioAlign {
  /** Media time of the FIFO's head, ms (undefined until the first audio frame of a decoder's life). */
  private headMs: number | undefined;
  /** Audio dropped to keep sync, ms; and times the timeline was re-based. */
  droppedMs = 0;
  rebased = 0;

  constructor(
    private readonly sampleRate: number,
    private readonly toleranceMs = 30,
  ) {}

  /** A decoder started: its first audio frame fed has this pts (ms). */
  start(firstAudioPtsMs: number): void {
    this.headMs = firstAudioPtsMs;
  }

  reset(): void {
    this.headMs = undefined;
  }

  get started(): boolean {
    return this.headMs !== undefined;
  }

  /** Frames (per channel) taken off the FIFO's head, by the compositor or dropped. */
  consumed(frames: number): void {
    if (this.headMs !== undefined) this.headMs += (frames * 1000) / this.sampleRate;
  }

  /**
   * Frames to drop from the head before this tick's take, so the sound is within tolerance of
   * the picture at `picturePtsMs`; `queuedFrames` is what the FIFO holds. A lag beyond what is
   * queued cannot be dropped: the timeline is re-based to the picture (a decoder whose audio
   * came late or ran short), so a wrong base never keeps dropping every sample that arrives.
   */
  dropBefore(picturePtsMs: number | undefined, queuedFrames: number): number {
    if (this.headMs === undefined || picturePtsMs === undefined || !Number.isFinite(picturePtsMs)) return 0;
    const lag = picturePtsMs - this.headMs;
    if (lag <= this.toleranceMs) return 0;
    const want = Math.floor((lag * this.sampleRate) / 1000);
    const n = Math.min(want, queuedFrames);
    if (n < want) {
      this.rebased++;
      this.headMs = picturePtsMs - (n * 1000) / this.sampleRate;
    }
    this.droppedMs += (n * 1000) / this.sampleRate;
    return n;
  }
}
