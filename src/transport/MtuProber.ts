/**
 * Path MTU discovery by binary search (DPLPMTUD-like, RFC 8899): start from a size known to
 * work (1200), probe the midpoint towards the ceiling with a padded probe packet; a probe ack
 * raises the floor, three unanswered tries at a size lower the ceiling. Searching stops when
 * the window is under 8 bytes; it starts again every `reprobeMs` and on a path change.
 */
export class MtuProber {
  mtu: number;
  private lo: number;
  private hi: number;
  private tries = 0;
  private probeSize = 0;
  private probeId = 0;
  private sentAt = -1;
  private nextAt: number;

  constructor(private readonly base = 1200, private readonly ceiling = 1452, private readonly reprobeMs = 600_000) {
    this.mtu = base;
    this.lo = base;
    this.hi = ceiling;
    this.nextAt = 0;
  }

  restart(now: number): void {
    this.lo = this.mtu = this.base;
    this.hi = this.ceiling;
    this.tries = 0;
    this.sentAt = -1;
    this.nextAt = now;
  }

  get searching(): boolean {
    return this.hi - this.lo >= 8;
  }

  /** A probe {id, size} to send now, or undefined. `timeoutMs` is how long a try waits. */
  poll(now: number, timeoutMs: number): { id: number; size: number } | undefined {
    if (!this.searching) {
      if (this.nextAt + this.reprobeMs <= now) {
        this.hi = this.ceiling;
        this.lo = this.mtu;
        this.nextAt = now;
      } else return undefined;
    }
    if (now < this.nextAt) return undefined;
    if (this.sentAt >= 0) {
      if (this.sentAt + timeoutMs > now) return undefined;
      this.tries++;
      if (this.tries >= 3) {
        this.hi = this.probeSize - 1;
        this.tries = 0;
        this.sentAt = -1;
        if (!this.searching) {
          this.nextAt = now;
          return undefined;
        }
      }
    }
    if (this.sentAt < 0) this.probeSize = (this.lo + this.hi + 1) >> 1;
    this.probeId = (this.probeId + 1) & 0xffff;
    this.sentAt = now;
    return { id: this.probeId, size: this.probeSize };
  }

  /** When poll may next return a probe. */
  wakeAt(timeoutMs: number): number | undefined {
    if (!this.searching) return this.nextAt + this.reprobeMs;
    return this.sentAt >= 0 ? this.sentAt + timeoutMs : this.nextAt;
  }

  onProbeAck(now: number, id: number, size: number): void {
    if (this.sentAt < 0 || id !== this.probeId || size !== this.probeSize) return;
    this.lo = size;
    this.mtu = size;
    this.tries = 0;
    this.sentAt = -1;
    this.nextAt = now;
  }
}
