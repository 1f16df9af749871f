/**
 * One input, two senders: `tributary send --backup` publishes the same encoder output to a main
 * and a backup server (main/backup publishing, each server sees a publisher of its own). The
 * source starts once; each branch gets every config, metadata and frame (a branch that starts
 * late first gets the configs it missed). An encoder that follows the uplink (EncoderInput)
 * follows the lower of the two targets, since both uplinks must carry the same bitrate.
 */
import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import type { MediaInput, MediaSink } from './inputs.js';

export class TeeInput {
  private readonly sinks: MediaSink[] = [];
  private readonly targets: number[] = [];
  private started: Promise<void> | undefined;
  private open = 0;
  private configs: { video?: CodecConfig; audio?: CodecConfig; metadata?: Record<string, unknown> } = {};

  constructor(private readonly source: MediaInput) {}

  /** A MediaInput for one sender. */
  branch(): MediaInput {
    const i = this.targets.length;
    this.targets.push(Infinity);
    const src = this.source;
    return {
      describe: src.describe,
      startBitrateBps: src.startBitrateBps,
      start: async (sink) => {
        this.sinks.push(sink);
        this.open++;
        if (this.configs.metadata) sink.metadata(this.configs.metadata);
        for (const c of [this.configs.video, this.configs.audio]) if (c) sink.config(c);
        this.started ??= src.start(this.fanOut());
        await this.started;
      },
      close: async () => {
        if (--this.open === 0) await src.close();
      },
      ...(src.followTarget
        ? {
            followTarget: (bps: number) => {
              this.targets[i] = bps;
              src.followTarget!(Math.min(...this.targets));
            },
          }
        : {}),
    };
  }

  private fanOut(): MediaSink {
    return {
      config: (c) => {
        this.configs[c.kind] = c;
        for (const s of this.sinks) s.config(c);
      },
      metadata: (v) => {
        this.configs.metadata = v;
        for (const s of this.sinks) s.metadata(v);
      },
      // Each sender stamps and encodes its own copy of the frame's header fields.
      frame: (f: MediaFrame) => {
        for (const s of this.sinks) s.frame({ ...f });
      },
      end: (reason) => {
        for (const s of this.sinks) s.end(reason);
      },
    };
  }
}
