import type { Socket } from 'node:net';

/**
 * Bytes one connection may hand its parser in one turn of the event loop. libuv reads a ready
 * socket up to 32 times a turn (64 KiB each), so one peer can put 2 MiB before the loop moves
 * on; a stream that is cheap to send and dear to parse (RTMP at chunk size 1, the TCP
 * fallback's 3-byte frames) then holds every other connection, timer and /healthz for as long
 * as the parse takes. 256 KiB a turn is 256 Mbit/s at a thousand turns a second: no publisher
 * waits for it, and a flood costs a few milliseconds a turn.
 */
export const TURN_BUDGET_BYTES = 256 << 10;

/**
 * Pauses a socket that has delivered `bytesPerTurn` in this turn and resumes it on the next
 * (setImmediate runs after the turn's I/O callbacks): what it sent waits in the kernel, where
 * its own TCP window slows it down, instead of in the loop.
 */
export class TurnBudget {
  private used = 0;
  private scheduled = false;
  private paused = false;
  /** Turns this socket was paused for (a counter for stats). */
  yields = 0;

  constructor(
    private readonly socket: Socket,
    private readonly bytesPerTurn = TURN_BUDGET_BYTES,
  ) {}

  /** Call from the 'data' handler with the chunk's length, after handling it. */
  spend(bytes: number): void {
    this.used += bytes;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.nextTurn);
    }
    if (this.used >= this.bytesPerTurn && !this.paused) {
      this.paused = true;
      this.yields++;
      this.socket.pause();
    }
  }

  private readonly nextTurn = (): void => {
    this.scheduled = false;
    this.used = 0;
    if (!this.paused) return;
    this.paused = false;
    if (!this.socket.destroyed) this.socket.resume();
  };
}
