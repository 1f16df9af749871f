/**
 * Maps one track's 32-bit RTP timestamps onto the session's millisecond timeline. Tracks of a
 * browser start at random RTP offsets; each is anchored at the wall-clock arrival of its first
 * packet (relative to the session's start), so audio and video line up to within the arrival
 * jitter of those two packets (a millisecond or so on the paths WHIP runs on). Wraps of the
 * 32-bit counter are unwrapped; a jump of more than `maxJumpMs` (a sender restart) re-anchors.
 */
export class RtpClock {
  private first: number | undefined;
  private anchorMs = 0;
  /** Unwrapped timestamp of the newest packet. */
  private last = 0;

  constructor(
    readonly clockRate: number,
    private readonly maxJumpMs = 10_000,
  ) {}

  /** `arrivalMs` is the packet's arrival on the session's timeline (ms since the session began). */
  toMs(timestamp: number, arrivalMs: number): number {
    if (this.first === undefined) return this.anchor(timestamp, arrivalMs);
    let ext = (this.last - (this.last % 2 ** 32)) + timestamp;
    if (ext - this.last > 2 ** 31) ext -= 2 ** 32;
    else if (this.last - ext > 2 ** 31) ext += 2 ** 32;
    const ms = this.anchorMs + ((ext - this.first) * 1000) / this.clockRate;
    if (Math.abs(ms - arrivalMs) > this.maxJumpMs) return this.anchor(timestamp, arrivalMs);
    if (ext > this.last) this.last = ext;
    return ms;
  }

  private anchor(timestamp: number, arrivalMs: number): number {
    this.first = timestamp;
    this.last = timestamp;
    this.anchorMs = arrivalMs;
    return arrivalMs;
  }
}
