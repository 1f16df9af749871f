import { RtpHeader, RtpPacket, type RTCPeerConnection, type RTCRtpSender } from 'werift';
import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { WhepOutput, type OutPacket } from '../../webrtc/WhepOutput.js';
import type { Stream } from '../Stream.js';
import { Subscriber, type BackpressureLimits } from '../Subscriber.js';
import type { OpusFeeds } from './OpusFeeds.js';
import { PeerLife } from './PeerLife.js';
import { WhipSession } from './WhipSession.js';

/**
 * One WHEP viewer: a Subscriber whose frames leave as RTP through werift. It joins the Stream
 * only once ICE and DTLS completed, so the GOP replay (which starts on a keyframe) is the first
 * thing the browser decodes. Audio comes from the stream's Opus feed (the WHIP publisher's own
 * packets, or one shared AAC-to-Opus ffmpeg), not from the AAC frames the Stream fans out.
 *
 * RTP over UDP has no send queue here: a viewer whose path is too slow loses packets, sends
 * NACKs (the stack resends from its history) and PLIs (passed to a WHIP publisher).
 */
export class WhepSession extends Subscriber {
  readonly life: PeerLife;
  private readonly out = new WhepOutput();
  private video: RTCRtpSender | undefined;
  private audio: RTCRtpSender | undefined;
  private readonly onOpus = (packet: Uint8Array, pts: number) => this.send(this.audio, this.out.audio(packet, pts));
  private joined = false;
  packetsSent = 0;

  constructor(
    id: string,
    remoteAddress: string,
    readonly stream: Stream,
    pc: RTCPeerConnection,
    connectTimeoutMs: number,
    limits: BackpressureLimits,
    private readonly opusFeeds: OpusFeeds,
    onEnd: (s: WhepSession, reason: string, reaped: boolean) => void,
  ) {
    super(id, 'whep', remoteAddress, limits);
    for (const t of pc.getTransceivers()) {
      if (t.kind === 'video') this.video = t.sender;
      if (t.kind === 'audio') this.audio = t.sender;
    }
    this.video?.onPictureLossIndication.subscribe(() => {
      if (this.stream.publisher instanceof WhipSession) this.stream.publisher.requestKeyframe();
    });
    this.life = new PeerLife(pc, connectTimeoutMs, (reason, reaped) => {
      this.close(reason);
      onEnd(this, reason, reaped);
    });
    this.life.onConnected = () => {
      if (this.isClosed) return;
      this.joined = true;
      this.stream.subscribe(this);
      if (this.audio) this.opusFeeds.add(this.stream, this.onOpus);
    };
  }

  onConfig(video: CodecConfig | undefined): void {
    this.out.setVideoConfig(video);
  }

  protected writeFrame(frame: MediaFrame): void {
    if (frame.kind !== 'video' || !this.video) return;
    for (const p of this.out.video(frame)) this.send(this.video, p);
  }

  pendingBytes(): number {
    return 0;
  }

  protected onClose(reason: string): void {
    if (this.joined) {
      this.stream.unsubscribe(this);
      this.opusFeeds.remove(this.stream, this.onOpus);
    }
    this.life.close(reason);
  }

  private send(sender: RTCRtpSender | undefined, p: OutPacket): void {
    if (!sender || this.isClosed) return;
    const header = new RtpHeader({ sequenceNumber: p.sequenceNumber, timestamp: p.timestamp, marker: p.marker });
    this.packetsSent++;
    sender.sendRtp(new RtpPacket(header, Buffer.from(p.payload.buffer, p.payload.byteOffset, p.payload.byteLength))).catch(() => undefined);
  }
}
