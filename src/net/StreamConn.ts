/**
 * One TCP connection carrying framed datagrams (see Framing.ts), used by both the client's
 * fallback and the server's listener. Writes are bounded: while more than `maxQueueBytes` wait
 * in the kernel and Node buffers, new datagrams are dropped (the core sees loss and slows), and
 * a peer that stays stalled for `stallCutMs` is cut. A bad frame length closes the connection.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, FrameTooLargeError, encodeFrame } from './Framing.js';
import { TurnBudget } from './TurnBudget.js';

export interface StreamConnOptions {
  maxFrame: number;
  maxQueueBytes: number;
  stallCutMs: number;
  onDatagram: (data: Uint8Array) => void;
  onClose: (reason: string) => void;
  clock: () => number;
}

export class StreamConn {
  private readonly decoder: FrameDecoder;
  private stalledSince = -1;
  private closed = false;
  dropped = 0;

  constructor(readonly socket: Socket, private readonly o: StreamConnOptions) {
    this.decoder = new FrameDecoder(o.maxFrame);
    socket.setNoDelay(true);
    // A flood of tiny frames is a datagram each to the core: bounded per turn like any input.
    const budget = new TurnBudget(socket);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, o.onDatagram);
      } catch (e) {
        this.close(e instanceof FrameTooLargeError ? e.message : `receive failed: ${String(e)}`);
      }
      budget.spend(chunk.length);
    });
    socket.on('error', (e) => this.close(`socket error: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    socket.on('close', () => this.close('closed by peer'));
    socket.on('end', () => this.close('ended by peer'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(data: Uint8Array): void {
    if (this.closed || data.length === 0 || data.length > 0xffff) return;
    if (this.socket.writableLength > this.o.maxQueueBytes) {
      this.dropped++;
      const now = this.o.clock();
      if (this.stalledSince < 0) this.stalledSince = now;
      else if (now - this.stalledSince >= this.o.stallCutMs) this.close('peer stalled: write queue full');
      return;
    }
    this.stalledSince = -1;
    this.socket.write(encodeFrame(data));
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.o.onClose(reason);
  }
}
