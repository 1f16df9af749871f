import { buildAvcConfig, h264ConfigFromRecord, h264FrameFlags, nalsToAvcc, NAL_AUD, NAL_PPS, NAL_SPS } from '../media/codec/h264.js';
import { MediaParseError, type CodecConfig, type MediaFrame } from '../media/frame.js';
import { H264Depacketizer, type AccessUnit } from './rtp/H264Depacketizer.js';
import { ReorderBuffer } from './rtp/ReorderBuffer.js';
import { RtpClock } from './rtp/RtpClock.js';

/** Where a WHIP publisher's media goes. */
export interface IngestSink {
  config(config: CodecConfig): void;
  frame(frame: MediaFrame): void;
  /** One Opus packet, at `pts` ms on the stream's timeline (WHEP viewers take these as they are). */
  opus(packet: Uint8Array, pts: number, arrival: number): void;
  /** Ask the browser for a keyframe (a PLI); already rate-limited here. */
  keyframeRequest(): void;
}

/** PLIs at most this often: an encoder asked again before its keyframe arrived only restarts. */
const PLI_INTERVAL_MS = 500;
/** How long a video gap is waited for: NACK, the browser's resend, on paths with RTT below ~100 ms. */
const VIDEO_WAIT_MS = 150;
/** Audio is not resent (no NACK for Opus): the buffer only puts reordered packets back. */
const AUDIO_WAIT_MS = 40;

type Rtp = { seq: number; timestamp: number; marker: boolean; payload: Uint8Array; arrival: number };

/**
 * The media side of one WHIP session, sans-IO: RTP packets (already decrypted by the stack)
 * with their arrival time in, the frame model out. H.264 is reordered, depacketized, its
 * parameter sets turned into the stream's config; Opus packets are stamped and passed on (the
 * shell turns them into AAC when an output needs it). Call `poll(now)` at `nextWake()`.
 */
export class WhipIngest {
  private readonly videoOrder = new ReorderBuffer<Rtp>({ maxWaitMs: VIDEO_WAIT_MS, capacity: 1024 });
  private readonly audioOrder = new ReorderBuffer<Rtp>({ maxWaitMs: AUDIO_WAIT_MS, capacity: 128 });
  private readonly depack = new H264Depacketizer();
  private readonly videoClock = new RtpClock(90000);
  private readonly audioClock = new RtpClock(48000);
  private avcRecord: Uint8Array | undefined;
  private lastPli = -Infinity;
  private lastVideoDts = -Infinity;
  private lastAudioPts = -Infinity;
  stats = { videoPackets: 0, audioPackets: 0, frames: 0, badParameterSets: 0 };

  constructor(
    private readonly sink: IngestSink,
    /** The session's start, on the clock `now` comes from. */
    private readonly startMs: number,
  ) {}

  video(seq: number, timestamp: number, marker: boolean, payload: Uint8Array, now: number): void {
    this.stats.videoPackets++;
    for (const r of this.videoOrder.push(seq, { seq, timestamp, marker, payload: new Uint8Array(payload), arrival: now }, now)) this.depacketize(r.item, r.lostBefore, now);
  }

  audio(seq: number, timestamp: number, payload: Uint8Array, now: number): void {
    this.stats.audioPackets++;
    for (const r of this.audioOrder.push(seq, { seq, timestamp, marker: false, payload: new Uint8Array(payload), arrival: now }, now)) this.opus(r.item);
  }

  poll(now: number): void {
    for (const r of this.videoOrder.poll(now)) this.depacketize(r.item, r.lostBefore, now);
    for (const r of this.audioOrder.poll(now)) this.opus(r.item);
  }

  nextWake(): number | undefined {
    const a = this.videoOrder.nextWake();
    const b = this.audioOrder.nextWake();
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  get lost(): { video: number; audio: number } {
    return { video: this.videoOrder.lost, audio: this.audioOrder.lost };
  }

  get dropped(): { packets: number; pictures: number } {
    return this.depack.dropped;
  }

  private opus(p: Rtp): void {
    if (p.payload.length === 0) return;
    const pts = this.audioClock.toMs(p.timestamp, p.arrival - this.startMs);
    if (pts <= this.lastAudioPts - 1000) return;
    this.lastAudioPts = Math.max(this.lastAudioPts, pts);
    this.sink.opus(p.payload, pts, p.arrival);
  }

  private depacketize(p: Rtp, lostBefore: number, now: number): void {
    const au = this.depack.push(p.payload, p.timestamp, p.marker, lostBefore);
    if (au) this.picture(au, p.arrival);
    if (this.depack.takeKeyframeRequest()) this.askKeyframe(now);
  }

  private askKeyframe(now: number): void {
    if (now - this.lastPli < PLI_INTERVAL_MS) return;
    this.lastPli = now;
    this.sink.keyframeRequest();
  }

  private picture(au: AccessUnit, arrival: number): void {
    const sps = au.nals.filter((n) => (n[0]! & 0x1f) === NAL_SPS);
    const pps = au.nals.filter((n) => (n[0]! & 0x1f) === NAL_PPS);
    if (sps.length > 0 && pps.length > 0) this.parameterSets(sps, pps);
    if (!this.avcRecord) return this.askKeyframe(arrival); // a picture before any SPS/PPS: nothing can decode it
    const nals = au.nals.filter((n) => {
      const t = n[0]! & 0x1f;
      return t !== NAL_SPS && t !== NAL_PPS && t !== NAL_AUD;
    });
    if (nals.length === 0) return;
    const dts = this.videoClock.toMs(au.timestamp, arrival - this.startMs);
    if (dts <= this.lastVideoDts - 1000) return;
    this.lastVideoDts = Math.max(this.lastVideoDts, dts);
    const flags = h264FrameFlags(nals);
    this.stats.frames++;
    this.sink.frame({ kind: 'video', codec: 'h264', dts, pts: dts, keyframe: au.keyframe, reference: flags.reference, data: nalsToAvcc(nals), captureTime: arrival });
  }

  private parameterSets(sps: Uint8Array[], pps: Uint8Array[]): void {
    let rec: Uint8Array;
    let config: CodecConfig;
    try {
      rec = buildAvcConfig(sps.slice(0, 1), pps.slice(0, 4));
      config = h264ConfigFromRecord(rec);
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      this.stats.badParameterSets++;
      return;
    }
    if (this.avcRecord && equal(this.avcRecord, rec)) return;
    this.avcRecord = rec;
    this.sink.config(config);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
