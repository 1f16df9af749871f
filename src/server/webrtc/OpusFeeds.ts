import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { AacToOpus } from '../../webrtc/transcode/AacToOpus.js';
import type { Logger } from '../log.js';
import type { Stream } from '../Stream.js';
import { WhipSession, type OpusListener } from './WhipSession.js';

/** One stream's Opus for its WHEP viewers, from whichever source the stream has now. */
class Feed {
  readonly listeners = new Set<OpusListener>();
  private detach: (() => void) | undefined;
  private transcoder: AacToOpus | undefined;
  private readonly onChange = () => this.pick();
  /** AAC-to-Opus ffmpeg processes started for this stream. */
  starts = 0;

  constructor(
    readonly stream: Stream,
    private readonly log: Logger,
  ) {
    stream.on('publish', this.onChange);
    stream.on('config', this.onChange);
    this.pick();
  }

  close(): void {
    this.stream.off('publish', this.onChange);
    this.stream.off('config', this.onChange);
    this.unhook();
  }

  private emit(packet: Uint8Array, pts: number): void {
    for (const l of this.listeners) l(packet, pts);
  }

  /**
   * A WHIP publisher's own Opus packets when it is one (no transcoding); Opus frames as they
   * are; AAC through one ffmpeg shared by every WHEP viewer of the stream.
   */
  private pick(): void {
    const pub = this.stream.publisher;
    const audio = this.stream.audioConfig;
    if (pub instanceof WhipSession) {
      if (this.detach && this.transcoder === undefined && this.source === pub) return;
      this.unhook();
      const l: OpusListener = (p, pts) => this.emit(p, pts);
      pub.addOpusListener(l);
      this.source = pub;
      this.detach = () => pub.removeOpusListener(l);
      return;
    }
    if (audio && this.source === audio) return;
    this.unhook();
    if (!audio) return;
    this.source = audio;
    if (audio.codec === 'opus') return this.hookFrames((f) => this.emit(f.data, f.pts));
    if (audio.codec !== 'aac') return;
    this.startTranscoder(audio);
  }

  private source: unknown;

  private startTranscoder(audio: CodecConfig): void {
    let t: AacToOpus;
    try {
      t = new AacToOpus(audio, (p, pts) => this.emit(p, pts), (reason) => {
        if (this.transcoder === t) this.log.warn({ stream: this.stream.path, reason }, 'whep: AAC-to-Opus transcoder ended');
      });
    } catch (err) {
      this.log.warn({ stream: this.stream.path, err: String(err) }, 'whep: audio not sent');
      return;
    }
    this.starts++;
    this.transcoder = t;
    this.hookFrames((f) => t.push(f.data, f.pts));
  }

  private hookFrames(fn: (f: MediaFrame) => void): void {
    const onFrame = (f: MediaFrame) => {
      if (f.kind === 'audio') fn(f);
    };
    this.stream.on('frame', onFrame);
    this.detach = () => this.stream.off('frame', onFrame);
  }

  private unhook(): void {
    this.detach?.();
    this.detach = undefined;
    this.transcoder?.close();
    this.transcoder = undefined;
    this.source = undefined;
  }
}

/**
 * The Opus feeds of all streams with WHEP viewers: made by the first viewer of a stream,
 * closed (its ffmpeg with it) when the last one leaves.
 */
export class OpusFeeds {
  private readonly feeds = new Map<Stream, Feed>();

  constructor(private readonly log: Logger) {}

  add(stream: Stream, l: OpusListener): void {
    let f = this.feeds.get(stream);
    if (!f) {
      f = new Feed(stream, this.log);
      this.feeds.set(stream, f);
    }
    f.listeners.add(l);
  }

  remove(stream: Stream, l: OpusListener): void {
    const f = this.feeds.get(stream);
    if (!f) return;
    f.listeners.delete(l);
    if (f.listeners.size === 0) {
      f.close();
      this.feeds.delete(stream);
    }
  }

  /** AAC-to-Opus ffmpeg processes running now. */
  transcoders(): number {
    let n = 0;
    for (const f of this.feeds.values()) if (f.starts > 0) n++;
    return n;
  }

  close(): void {
    for (const f of this.feeds.values()) f.close();
    this.feeds.clear();
  }
}
