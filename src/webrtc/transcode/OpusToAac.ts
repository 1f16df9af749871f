import { buildAudioSpecificConfig, aacConfigFromAsc, parseAdtsHeader } from '../../media/codec/aac.js';
import { buildOpusHead } from '../../media/codec/opus.js';
import { MediaParseError, type CodecConfig, type MediaFrame } from '../../media/frame.js';
import { FfmpegPipe, LOW_DELAY_INPUT } from './FfmpegPipe.js';
import { OggOpusWriter } from './ogg.js';
import { opusLossPacket, opusPacketSamples } from './opusPacket.js';

/** AAC frames carry 1024 samples; the encoder's first frame is priming (no input in it). */
const AAC_SAMPLES = 1024;
/** A gap longer than this (the publisher paused, or its clock jumped) restarts the timeline. */
const MAX_FILL_MS = 1000;
const RATE = 48000;

/**
 * Opus packets of a WebRTC publisher into AAC frames for the outputs that cannot carry Opus
 * (FLV, RTMP, HLS here): ffmpeg decodes an Ogg Opus stream on stdin and encodes ADTS AAC on
 * stdout. Timing is kept here, not trusted to ffmpeg: every input packet advances a 48 kHz
 * sample count (lost packets become loss-concealment packets of the same length, so the count
 * stays true), and output frame n is stamped at first pts + (n - 1) * 1024 samples.
 *
 * `latencyMs` samples how long each output frame's audio waited in ffmpeg (the wall-clock
 * time from the input packet that completed its samples to the frame coming out).
 */
export class OpusToAac {
  private readonly pipe: FfmpegPipe;
  private readonly ogg = new OggOpusWriter();
  private buf = new Uint8Array(0);
  private basePts: number | undefined;
  private samplesIn = 0;
  private lastPts = 0;
  private lastPacket: Uint8Array | undefined;
  private framesOut = 0;
  /** [sample count after the packet, wall time it went in] of recent input. */
  private inputTimes: [number, number][] = [];
  private config: CodecConfig | undefined;
  readonly latencyMs: number[] = [];
  badOutput = 0;

  constructor(
    private readonly onConfig: (c: CodecConfig) => void,
    private readonly onFrame: (f: MediaFrame) => void,
    onExit: (reason: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.pipe = new FfmpegPipe([
      ...LOW_DELAY_INPUT, '-f', 'ogg', '-i', 'pipe:0',
      '-c:a', 'aac', '-b:a', '128k', '-ar', String(RATE), '-ac', '2',
      '-flush_packets', '1', '-f', 'adts', 'pipe:1',
    ]);
    this.pipe.onData = (d) => this.read(d);
    this.pipe.onExit = onExit;
    for (const page of this.ogg.headers(buildOpusHead(2, 0))) this.pipe.write(page);
  }

  /** One Opus packet of the publisher, at `pts` ms on the stream's timeline. */
  push(packet: Uint8Array, pts: number): void {
    const samples = opusPacketSamples(packet);
    if (samples === 0) return;
    if (this.basePts === undefined) this.basePts = pts;
    else {
      const expected = this.lastPts;
      const gap = pts - expected;
      if (gap > MAX_FILL_MS || gap < -MAX_FILL_MS) {
        // Not a loss but a new timeline: rebase (the encoder's output count keeps running).
        this.basePts = pts - (this.samplesIn * 1000) / RATE;
      } else if (gap > (samples * 1000) / RATE / 2 && this.lastPacket) {
        const loss = opusLossPacket(this.lastPacket);
        const per = opusPacketSamples(this.lastPacket);
        for (let filled = 0; filled + per / 2 <= (gap * RATE) / 1000 && per > 0; filled += per) this.write(loss, per);
      } else if (gap < -(samples * 1000) / RATE / 2) {
        return; // a duplicate or very late packet: its place in the timeline has passed
      }
    }
    this.lastPacket = packet;
    this.write(packet, samples);
  }

  close(): void {
    this.pipe.close();
  }

  get droppedInputBytes(): number {
    return this.pipe.droppedInputBytes;
  }

  private write(packet: Uint8Array, samples: number): void {
    this.samplesIn += samples;
    this.lastPts = this.basePts! + (this.samplesIn * 1000) / RATE;
    this.inputTimes.push([this.samplesIn, this.now()]);
    if (this.inputTimes.length > 500) this.inputTimes.splice(0, 250);
    this.pipe.write(this.ogg.packet(packet, BigInt(this.samplesIn)));
  }

  private read(chunk: Buffer): void {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    let pos = 0;
    while (joined.length - pos >= 7) {
      let h;
      try {
        h = parseAdtsHeader(joined, pos);
      } catch (err) {
        if (!(err instanceof MediaParseError)) throw err;
        this.badOutput++;
        pos++;
        continue;
      }
      if (joined.length - pos < h.frameLength) break;
      const raw = joined.slice(pos + h.headerLength, pos + h.frameLength);
      pos += h.frameLength;
      this.frame(raw, h);
    }
    this.buf = joined.slice(pos);
    if (this.buf.length > 1 << 16) this.buf = new Uint8Array(0); // no ADTS sync in 64 KiB: not AAC
  }

  private frame(raw: Uint8Array, h: { objectType: number; sampleRate: number; channelConfig: number }): void {
    if (!this.config) {
      this.config = aacConfigFromAsc(buildAudioSpecificConfig(h));
      this.onConfig(this.config);
    }
    const n = this.framesOut++;
    if (n === 0) return; // priming: no input samples in it
    const endSample = n * AAC_SAMPLES;
    const input = this.inputTimes.find(([s]) => s >= endSample);
    if (input) this.latencyMs.push(this.now() - input[1]);
    if (this.latencyMs.length > 2000) this.latencyMs.splice(0, 1000);
    const pts = this.basePts! + ((n - 1) * AAC_SAMPLES * 1000) / RATE;
    this.onFrame({ kind: 'audio', codec: 'aac', dts: pts, pts, keyframe: true, reference: true, data: raw, captureTime: input?.[1] });
  }
}
