import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { TsMuxer } from '../../media/ts/TsMuxer.js';
import { TS_PACKET } from '../../media/ts/TsDemuxer.js';
import { Subscriber, type BackpressureLimits } from '../Subscriber.js';

/** 7 TS packets: the payload every SRT live sender uses (fits a 1500-byte MTU with headers). */
export const SRT_PAYLOAD = 7 * TS_PACKET;

/**
 * One viewer over SRT (a caller with m=request): frames muxed to MPEG-TS and cut into 1316-byte
 * messages for the connection's sender. What the sender holds unacknowledged counts as queued,
 * so the slow-viewer policy (skip to the next keyframe, then cut) applies as for every output.
 */
export class SrtSubscriber extends Subscriber {
  private muxer: TsMuxer | undefined;
  private tracks = '';
  /** Frames of codecs MPEG-TS output does not carry (anything but H.264 and AAC). */
  unsupported = 0;

  constructor(
    id: string,
    remoteAddress: string,
    limits: BackpressureLimits,
    private readonly io: { send(payload: Uint8Array): void; pendingBytes(): number; close(reason: string): void },
  ) {
    super(id, 'srt', remoteAddress, limits);
  }

  onConfig(video: CodecConfig | undefined, audio: CodecConfig | undefined): void {
    const v = video?.codec === 'h264' ? video : undefined;
    const a = audio?.codec === 'aac' ? audio : undefined;
    const tracks = `${v ? 'v' : ''}${a ? 'a' : ''}`;
    // A new track set needs a new PMT: start a new muxer (its first frame carries PAT/PMT).
    if (!this.muxer || tracks !== this.tracks) {
      this.muxer = new TsMuxer({ hasVideo: !!v, hasAudio: !!a });
      this.tracks = tracks;
    }
    if (v) this.muxer.setConfig(v);
    if (a) this.muxer.setConfig(a);
  }

  protected writeFrame(frame: MediaFrame): void {
    if (!this.muxer || frame.kind === 'data') return;
    if ((frame.codec === 'h264' && !this.tracks.includes('v')) || (frame.codec === 'aac' && !this.tracks.includes('a')) || (frame.codec !== 'h264' && frame.codec !== 'aac')) {
      this.unsupported++;
      return;
    }
    const ts = this.muxer.muxFrame(frame);
    for (let p = 0; p < ts.length; p += SRT_PAYLOAD) this.io.send(ts.subarray(p, Math.min(ts.length, p + SRT_PAYLOAD)));
    this.bytesSent += ts.length;
  }

  pendingBytes(): number {
    return this.io.pendingBytes();
  }

  protected onClose(reason: string): void {
    this.io.close(reason);
  }
}
