import { buildAdtsHeader, parseAudioSpecificConfig, type AacInfo } from '../../media/codec/aac.js';
import { MediaParseError, type CodecConfig } from '../../media/frame.js';
import { FfmpegPipe, LOW_DELAY_INPUT } from './FfmpegPipe.js';
import { OggReader } from './ogg.js';
import { opusPacketSamples } from './opusPacket.js';

/** An AAC gap longer than this restarts the output timeline at the new input's time. */
const MAX_GAP_MS = 1000;

/**
 * AAC frames of a stream (RTMP, SRT, the transport) into Opus for WHEP viewers: ffmpeg reads
 * ADTS on stdin and writes Ogg Opus (a page per 20 ms packet) on stdout. One per stream, shared
 * by all its WHEP viewers, started by the first and closed after the last (see WhepAudio).
 *
 * Output packet stamps: the pts of the AAC frame that went in when the packet's first sample
 * did, plus the samples since, so ffmpeg's buffering shows as delay, never as drift.
 */
export class AacToOpus {
  private readonly pipe: FfmpegPipe;
  private readonly ogg = new OggReader();
  private readonly info: AacInfo;
  /** [input sample count at 48 kHz before the frame, its pts]. */
  private inputs: [number, number][] = [];
  private samplesIn = 0;
  private samplesOut = 0;
  private headersSeen = 0;
  private lastInPts: number | undefined;

  constructor(
    config: CodecConfig,
    private readonly onPacket: (packet: Uint8Array, pts: number) => void,
    onExit: (reason: string) => void,
  ) {
    if (config.codec !== 'aac') throw new MediaParseError(`AacToOpus takes AAC, not ${config.codec}`);
    this.info = parseAudioSpecificConfig(config.data);
    if (this.info.objectType > 4) throw new MediaParseError(`AAC object type ${this.info.objectType} cannot be framed as ADTS`);
    this.pipe = new FfmpegPipe([
      ...LOW_DELAY_INPUT, '-f', 'aac', '-i', 'pipe:0',
      '-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2', '-application', 'lowdelay', '-frame_duration', '20',
      '-flush_packets', '1', '-page_duration', '20000', '-f', 'ogg', 'pipe:1',
    ]);
    this.pipe.onData = (d) => this.read(d);
    this.pipe.onExit = onExit;
  }

  push(raw: Uint8Array, pts: number): void {
    if (this.lastInPts !== undefined && Math.abs(pts - this.lastInPts) > MAX_GAP_MS) this.inputs = [];
    this.lastInPts = pts;
    this.inputs.push([this.samplesIn, pts]);
    if (this.inputs.length > 500) this.inputs.splice(0, 250);
    this.samplesIn += (1024 * 48000) / this.info.sampleRate;
    const header = buildAdtsHeader(this.info, raw.length);
    const frame = new Uint8Array(header.length + raw.length);
    frame.set(header);
    frame.set(raw, header.length);
    this.pipe.write(frame);
  }

  close(): void {
    this.pipe.close();
  }

  private read(chunk: Buffer): void {
    let packets;
    try {
      packets = this.ogg.push(chunk);
    } catch {
      return this.pipe.close();
    }
    for (const p of packets) {
      if (this.headersSeen < 2) {
        this.headersSeen++; // OpusHead, OpusTags
        continue;
      }
      const samples = opusPacketSamples(p.data);
      if (samples === 0) continue;
      // The newest input frame that began at or before this packet's first sample.
      let base: [number, number] | undefined;
      for (const i of this.inputs) if (i[0] <= this.samplesOut) base = i;
      base ??= this.inputs[0];
      if (base) this.onPacket(p.data, base[1] + ((this.samplesOut - base[0]) * 1000) / 48000);
      this.samplesOut += samples;
    }
  }
}
