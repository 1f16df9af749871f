import { Amf0EcmaArray, encodeAmf0 } from '../../media/amf0.js';
import { audioBodyHeaderLength, buildAudioConfigTag, buildVideoConfigTag, videoBodyHeaderLength, writeAudioBodyHeader, writeVideoBodyHeader } from '../../media/flv/tagBody.js';
import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { Subscriber, type BackpressureLimits } from '../Subscriber.js';
import { Csid, MessageType, type RtmpMessage } from './messages.js';

/** What a player's connection offers its subscriber. */
export interface RtmpSink {
  /** Sends one message; the payload is `head` followed by `body`. */
  send(msg: Omit<RtmpMessage, 'payload'>, body: Uint8Array, head?: Uint8Array): void;
  /** Bytes queued on the socket. */
  pending(): number;
  /** Ends the connection; called once, from `onClose`. */
  end(reason: string): void;
}

/**
 * One RTMP player: onMetaData and the codec configs on join (and when they change), then an
 * audio or video message per frame on the play stream. Times are rebased so the first frame
 * the player gets is at 0, as with the FLV outputs.
 */
export class RtmpSubscriber extends Subscriber {
  private base: number | undefined;
  private lastTs = 0;
  /** What the player already has: the stream passes both configs each time either changes. */
  private sent: { video?: CodecConfig; audio?: CodecConfig; metadata?: Record<string, unknown> } = {};
  /** Scratch for a frame's tag-body header (at most 8 bytes for any codec written). */
  private readonly head = new Uint8Array(16);

  constructor(
    id: string,
    remoteAddress: string,
    limits: BackpressureLimits,
    /** The message stream id the player's play command came on. */
    readonly streamId: number,
    private readonly sink: RtmpSink,
  ) {
    super(id, 'rtmp', remoteAddress, limits);
  }

  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined, metadata: Record<string, unknown> | undefined): void {
    if (this.isClosed) return;
    const ts = this.lastTs;
    if (metadata && metadata !== this.sent.metadata) {
      this.sent.metadata = metadata;
      this.sink.send({ csid: Csid.Data, type: MessageType.DataAmf0, streamId: this.streamId, timestamp: ts }, encodeAmf0('onMetaData', new Amf0EcmaArray(metadata)));
    }
    if (video && video !== this.sent.video) {
      this.sent.video = video;
      this.sendConfig(MessageType.Video, video, ts, buildVideoConfigTag);
    }
    if (audio && audio !== this.sent.audio) {
      this.sent.audio = audio;
      this.sendConfig(MessageType.Audio, audio, ts, buildAudioConfigTag);
    }
  }

  private sendConfig(type: number, config: CodecConfig, ts: number, build: (c: CodecConfig) => Uint8Array): void {
    let body: Uint8Array;
    try {
      body = build(config);
    } catch {
      return; // a codec FLV can't carry: the player gets the other track
    }
    this.sink.send({ csid: type === MessageType.Video ? Csid.Video : Csid.Audio, type, streamId: this.streamId, timestamp: ts }, body);
  }

  protected writeFrame(frame: MediaFrame): void {
    if (frame.kind === 'data') return;
    if (this.base === undefined) this.base = frame.dts;
    const ts = Math.max(0, Math.round(frame.dts - this.base));
    this.lastTs = ts;
    let n: number;
    try {
      if (frame.kind === 'video') {
        n = videoBodyHeaderLength(frame);
        writeVideoBodyHeader(frame, this.head, 0);
      } else {
        n = audioBodyHeaderLength(frame);
        writeAudioBodyHeader(frame, this.head, 0);
      }
    } catch {
      return;
    }
    const type = frame.kind === 'video' ? MessageType.Video : MessageType.Audio;
    const csid = frame.kind === 'video' ? Csid.Video : Csid.Audio;
    this.sink.send({ csid, type, streamId: this.streamId, timestamp: ts }, frame.data, this.head.subarray(0, n));
    this.bytesSent += n + frame.data.length;
  }

  pendingBytes(): number {
    return this.sink.pending();
  }

  protected onClose(reason: string): void {
    this.sink.end(reason);
  }
}
