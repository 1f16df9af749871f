/**
 * What a run measured: bytes by who sent them, playback of every slice due, delays, startups;
 * in total over the measured window and in 5-second buckets (the flash crowd's timeline).
 */
import type { PlaySink } from '../../p2p/Peer.js';

export const BUCKET_MS = 5000;

export class Bucket {
  edgeBytes = 0;
  playedBytes = 0;
  due = 0;
  onTime = 0;
}

export class Ledger {
  measureFrom = 0;
  /** Count every join's startup, not only those in the measured window. */
  allStartups = false;
  now = 0;
  edgeMediaBytes = 0;
  compensationBytes = 0;
  peerMediaBytes = 0;
  controlBytes = 0;
  playedBytes = 0;
  due = 0;
  onTime = 0;
  delays: number[] = [];
  startups: number[] = [];
  readonly buckets: Bucket[] = [];
  /** Every 10th delay sample is kept: enough for p99 and max over millions of slices (max is exact). */
  private delayTick = 0;
  maxDelay = 0;

  get measuring(): boolean {
    return this.now >= this.measureFrom;
  }

  bucket(): Bucket {
    const i = Math.floor(this.now / BUCKET_MS);
    while (this.buckets.length <= i) this.buckets.push(new Bucket());
    return this.buckets[i]!;
  }

  edgeSent(bytes: number, compensation: boolean): void {
    this.bucket().edgeBytes += bytes;
    if (!this.measuring) return;
    this.edgeMediaBytes += bytes;
    if (compensation) this.compensationBytes += bytes;
  }

  sink(): PlaySink {
    return {
      started: (ms) => {
        if (this.measuring || this.allStartups) this.startups.push(ms);
      },
      played: (delayMs, onTime, bytes) => {
        const b = this.bucket();
        b.due++;
        b.playedBytes += bytes;
        if (onTime) b.onTime++;
        if (!this.measuring) return;
        this.due++;
        this.playedBytes += bytes;
        if (onTime) this.onTime++;
        if (delayMs > this.maxDelay) this.maxDelay = delayMs;
        if (this.delayTick++ % 10 === 0) this.delays.push(delayMs);
      },
      missed: () => {
        this.bucket().due++;
        if (this.measuring) this.due++;
      },
    };
  }
}
