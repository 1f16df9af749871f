import type { MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import type { CodecConfig, MediaFrame } from '../../media/frame.js';
import { OpusToAac } from '../../webrtc/transcode/OpusToAac.js';
import { WhipIngest } from '../../webrtc/WhipIngest.js';
import type { Logger } from '../log.js';
import type { Publisher } from '../Publisher.js';
import type { Stream } from '../Stream.js';
import { PeerLife } from './PeerLife.js';

/** How often the shell checks whether some output needs AAC. */
const DEMAND_CHECK_MS = 500;
/** The Opus-to-AAC ffmpeg stops after nothing has needed AAC for this long. */
const IDLE_TRANSCODER_MS = 10_000;

export type OpusListener = (packet: Uint8Array, pts: number) => void;

/**
 * One WHIP publisher (a browser sending H.264 and Opus): the shell around WhipIngest. It owns
 * the peer connection (PeerLife reaps one that never connects), feeds RTP to the ingest with
 * arrival times, sends the PLIs the ingest asks for, and pushes video into the Stream.
 *
 * Audio: the Stream carries AAC, which every output but WHEP needs, made by an ffmpeg started
 * only while some output needs it (a viewer other than WHEP, or a packager listening to the
 * stream's frames, such as LL-HLS); WHEP viewers take the browser's Opus packets as they came
 * (addOpusListener), with no transcoding either way.
 */
export class WhipSession implements Publisher {
  readonly protocol = 'whip';
  readonly life: PeerLife;
  private readonly ingest: WhipIngest;
  private videoPli: (() => void) | undefined;
  private readonly opusListeners = new Set<OpusListener>();
  private transcoder: OpusToAac | undefined;
  private unneededSince: number | undefined;
  private hasAudio = false;
  private wake: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private readonly demand: NodeJS.Timeout;
  /** Output frames' delay in the Opus-to-AAC ffmpeg, ms (recent samples). */
  readonly transcodeDelayMs: number[] = [];
  transcoderStarts = 0;

  constructor(
    readonly id: string,
    readonly remoteAddress: string,
    readonly stream: Stream,
    pc: RTCPeerConnection,
    connectTimeoutMs: number,
    private readonly log: Logger,
    onEnd: (s: WhipSession, reason: string, reaped: boolean) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.ingest = new WhipIngest({
      config: (c) => this.stream.pushConfig(c, this),
      frame: (f) => this.stream.pushFrame(f, this.now(), this),
      opus: (p, pts, arrival) => this.opus(p, pts, arrival),
      keyframeRequest: () => this.videoPli?.(),
    }, now());
    this.life = new PeerLife(pc, connectTimeoutMs, (reason, reaped) => {
      this.stop();
      onEnd(this, reason, reaped);
    });
    // The offer was applied before this session existed: its tracks may already be there.
    for (const t of pc.getTransceivers()) {
      for (const track of t.receiver.tracks) this.track(track, t);
      t.onTrack.subscribe((track, tr) => this.track(track, tr));
    }
    // Browsers send keyframes only at the start and when asked: a viewer that joins when the
    // stream's GOP cache holds none (a config change emptied it) would wait for ever.
    stream.on('subscribe', this.onSubscribe);
    this.demand = setInterval(() => this.checkDemand(), DEMAND_CHECK_MS);
    this.demand.unref();
  }

  private readonly onSubscribe = () => {
    const head = this.stream.gopFrames()[0];
    if (!head || !(head.kind === 'video' && head.keyframe)) this.requestKeyframe();
  };

  /** Ends the session (operator kick, stream closed, DELETE). Idempotent. */
  close(reason: string): void {
    this.life.close(reason);
  }

  /** A WHEP viewer lost a picture: ask the browser for a keyframe (rate-limited by the ingest's PLI limit). */
  requestKeyframe(): void {
    this.videoPli?.();
  }

  addOpusListener(l: OpusListener): void {
    this.opusListeners.add(l);
  }

  removeOpusListener(l: OpusListener): void {
    this.opusListeners.delete(l);
  }

  stats(): Record<string, unknown> {
    return { ...this.ingest.stats, lost: this.ingest.lost, dropped: this.ingest.dropped, transcoding: this.transcoder !== undefined };
  }

  private readonly tracks = new Set<MediaStreamTrack>();

  private track(track: MediaStreamTrack, tr: RTCRtpTransceiver): void {
    if (this.tracks.has(track)) return;
    this.tracks.add(track);
    if (track.kind === 'video') {
      let last = -Infinity;
      this.videoPli = () => {
        // A WHEP viewer's PLI and the ingest's own share one limit.
        const now = this.now();
        if (now - last < 300 || track.ssrc === undefined) return;
        last = now;
        tr.receiver.sendRtcpPLI(track.ssrc).catch(() => undefined);
      };
      track.onReceiveRtp.subscribe((rtp) => {
        if (this.life.isClosed) return;
        this.ingest.video(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.header.marker, rtp.payload, this.now());
        this.schedule();
      });
    } else if (track.kind === 'audio') {
      this.hasAudio = true;
      track.onReceiveRtp.subscribe((rtp) => {
        if (this.life.isClosed) return;
        this.ingest.audio(rtp.header.sequenceNumber, rtp.header.timestamp, rtp.payload, this.now());
        this.schedule();
      });
    }
  }

  /** One timer at the ingest's next wake-up (a gap given up), re-armed only when it moves earlier. */
  private schedule(): void {
    const at = this.ingest.nextWake();
    if (at === undefined || at >= this.wakeAt) return;
    if (this.wake) clearTimeout(this.wake);
    this.wakeAt = at;
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.wakeAt = Infinity;
      this.ingest.poll(this.now());
      this.schedule();
    }, Math.max(0, at - this.now()));
  }

  private opus(packet: Uint8Array, pts: number, arrival: number): void {
    for (const l of this.opusListeners) l(packet, pts);
    this.transcoder?.push(packet, pts);
    void arrival;
  }

  /** Outputs other than WHEP need AAC: viewers of other protocols, or frame listeners (packagers). */
  private aacNeeded(): boolean {
    for (const s of this.stream.subscribers.values()) if (s.protocol !== 'whep') return true;
    return this.stream.listenerCount('frame') > 0;
  }

  private checkDemand(): void {
    if (this.life.isClosed || !this.hasAudio) return;
    const now = this.now();
    if (this.aacNeeded()) {
      this.unneededSince = undefined;
      if (!this.transcoder) this.startTranscoder();
    } else if (this.transcoder) {
      this.unneededSince ??= now;
      if (now - this.unneededSince >= IDLE_TRANSCODER_MS) this.stopTranscoder();
    }
  }

  private startTranscoder(): void {
    this.transcoderStarts++;
    const t = new OpusToAac(
      (c: CodecConfig) => {
        const old = this.stream.audioConfig;
        if (old && old.codec === c.codec && sameBytes(old.data, c.data)) return;
        // A new config empties the stream's GOP cache: a keyframe refills it for the next joiner.
        this.stream.pushConfig(c, this);
        this.requestKeyframe();
      },
      (f: MediaFrame) => {
        if (this.transcoder !== t) return;
        this.stream.pushFrame(f, this.now(), this);
        const d = t.latencyMs[t.latencyMs.length - 1];
        if (d !== undefined) {
          this.transcodeDelayMs.push(d);
          if (this.transcodeDelayMs.length > 2000) this.transcodeDelayMs.splice(0, 1000);
        }
      },
      (reason) => {
        if (this.transcoder !== t) return;
        this.transcoder = undefined;
        this.log.warn({ stream: this.stream.path, reason }, 'whip: Opus-to-AAC transcoder ended');
      },
    );
    this.transcoder = t;
  }

  private stopTranscoder(): void {
    this.transcoder?.close();
    this.transcoder = undefined;
    this.unneededSince = undefined;
  }

  private stop(): void {
    this.stream.off('subscribe', this.onSubscribe);
    clearInterval(this.demand);
    if (this.wake) clearTimeout(this.wake);
    this.stopTranscoder();
    this.opusListeners.clear();
    this.stream.unpublish(this);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
