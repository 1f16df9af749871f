import { TsDemuxer } from '../../media/ts/TsDemuxer.js';
import type { Publisher } from '../Publisher.js';
import type { Stream } from '../Stream.js';

/**
 * The source side of one SRT publish: the caller's MPEG-TS (delivered in order by the SRT
 * receiver) demuxed into configs and frames for the Stream. The demuxer drops and counts what
 * it cannot parse; nothing here throws on the caller's bytes.
 */
export class SrtPublisher implements Publisher {
  readonly protocol = 'srt';
  readonly demuxer = new TsDemuxer();
  frames = 0;

  constructor(
    readonly id: string,
    readonly remoteAddress: string,
    readonly stream: Stream,
    private readonly kick: (reason: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  close(reason: string): void {
    this.kick(reason);
  }

  /** One SRT message: whole TS packets (a caller may split them anywhere; the demuxer copes). */
  handle(payload: Uint8Array): void {
    for (const out of this.demuxer.push(payload)) {
      if (out.type === 'config') this.stream.pushConfig(out.config, this);
      else if (out.type === 'metadata') this.stream.pushMetadata(out.values, this);
      else {
        const now = this.now();
        // TS carries no wall clock: the frame's age starts when the server has it.
        out.frame.captureTime ??= now;
        this.frames++;
        this.stream.pushFrame(out.frame, now, this);
      }
    }
  }
}
