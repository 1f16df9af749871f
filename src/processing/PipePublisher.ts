import type { Readable } from 'node:stream';
import type { DemuxOutput, MediaFrame } from '../media/frame.js';
import { FlvDemuxer } from '../media/flv/FlvDemuxer.js';
import type { Publisher } from '../server/Publisher.js';
import type { Stream } from '../server/Stream.js';

let nextId = 1;

export interface PipePublisherOptions {
  /** Fills in a frame's capture time (the job's input's) before it goes into the Stream. */
  stamp?: (frame: MediaFrame) => void;
  /** Called when the pipe carries broken FLV (the job treats it as the process's death). */
  onBroken?: (reason: string) => void;
  /** The first frame went out. */
  onFirstFrame?: () => void;
}

/**
 * A process's FLV output (a pipe) published as an ordinary stream of the server: every output
 * (FLV, LL-HLS, RTMP, transport, relays) serves it unchanged. Attach with `start()`; the job
 * closes it when its process ends (the Stream then keeps viewers for the grace, and the
 * restarted process's publisher continues on the same timeline).
 */
export class PipePublisher implements Publisher {
  readonly id = `job-out-${nextId++}`;
  readonly protocol = 'job';
  readonly remoteAddress = 'process';
  frames = 0;
  private readonly demuxer = new FlvDemuxer();
  private attached = false;
  private closed = false;

  constructor(
    readonly stream: Stream,
    private readonly pipe: Readable,
    private readonly o: PipePublisherOptions = {},
  ) {}

  /** Publishes the stream (throws PublishRefusedError when someone else publishes it) and reads the pipe. */
  start(): void {
    this.stream.publish(this);
    this.attached = true;
    this.pipe.on('data', (chunk: Buffer) => this.push(chunk));
    this.pipe.on('error', () => undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pipe.removeAllListeners('data');
    if (this.attached) this.stream.unpublish(this);
  }

  private push(chunk: Buffer): void {
    if (this.closed) return;
    let outs: DemuxOutput[];
    try {
      outs = this.demuxer.push(new Uint8Array(chunk));
    } catch (err) {
      this.o.onBroken?.(`broken FLV from the process: ${(err as Error).message}`);
      return this.close();
    }
    for (const out of outs) {
      if (out.type === 'config') this.stream.pushConfig(out.config);
      else if (out.type === 'metadata') this.stream.pushMetadata(out.values);
      else {
        this.o.stamp?.(out.frame);
        out.frame.captureTime ??= Date.now();
        this.stream.pushFrame(out.frame);
        if (this.frames++ === 0) this.o.onFirstFrame?.();
      }
    }
  }
}
