import { parseAvcConfig, splitAvcc } from '../media/codec/h264.js';
import { MediaParseError, type CodecConfig, type MediaFrame } from '../media/frame.js';
import { packetizeH264 } from './rtp/H264Packetizer.js';

/** One RTP packet to send: the stack sets SSRC and payload type. */
export interface OutPacket {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
}

/**
 * The media side of one WHEP viewer, sans-IO: frames of the stream (on its ms timeline) in,
 * RTP packets out. Video: H.264 into single-NAL / FU-A packets, SPS and PPS before every
 * keyframe; audio: Opus packets one per RTP packet. Each track's RTP clock starts at a random
 * offset (RFC 3550) and runs from the stream's timestamps, so pauses stay pauses.
 */
export class WhepOutput {
  private parameterSets: Uint8Array[] = [];
  private videoSeq = randomU16();
  private audioSeq = randomU16();
  private readonly videoBase = randomU32();
  private readonly audioBase = randomU32();
  badFrames = 0;

  /** The stream's video config (AVCDecoderConfigurationRecord): its SPS and PPS go before keyframes. */
  setVideoConfig(config: CodecConfig | undefined): void {
    if (!config || config.codec !== 'h264') return void (this.parameterSets = []);
    try {
      const avc = parseAvcConfig(config.data);
      this.parameterSets = [...avc.sps, ...avc.pps];
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      this.parameterSets = [];
    }
  }

  video(frame: MediaFrame): OutPacket[] {
    if (frame.codec !== 'h264') return [];
    let nals: Uint8Array[];
    try {
      nals = splitAvcc(frame.data);
    } catch (err) {
      if (!(err instanceof MediaParseError)) throw err;
      this.badFrames++;
      return [];
    }
    if (frame.keyframe) {
      const has = (t: number) => nals.some((n) => (n[0]! & 0x1f) === t);
      if (!has(7) || !has(8)) nals = [...this.parameterSets, ...nals];
    }
    const payloads = packetizeH264(nals);
    const timestamp = (this.videoBase + Math.round(frame.pts * 90)) >>> 0;
    return payloads.map((payload, i) => ({ sequenceNumber: (this.videoSeq = (this.videoSeq + 1) & 0xffff), timestamp, marker: i === payloads.length - 1, payload }));
  }

  audio(packet: Uint8Array, pts: number): OutPacket {
    const timestamp = (this.audioBase + Math.round(pts * 48)) >>> 0;
    return { sequenceNumber: (this.audioSeq = (this.audioSeq + 1) & 0xffff), timestamp, marker: false, payload: packet };
  }
}

function randomU16(): number {
  return Math.floor(Math.random() * 0x10000);
}

function randomU32(): number {
  return Math.floor(Math.random() * 0x1_0000_0000);
}
