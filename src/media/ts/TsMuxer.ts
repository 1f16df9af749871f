import type { CodecConfig, MediaFrame } from '../frame.js';
import { parseAvcConfig, splitAvcc, NAL_AUD } from '../codec/h264.js';
import { parseAudioSpecificConfig, writeAdtsHeader, type AacInfo } from '../codec/aac.js';
import { buildPat, buildPmt, STREAM_TYPE_AAC, STREAM_TYPE_H264, type PmtStream } from './psi.js';
import { pesHeaderLength, writePesHeader } from './pes.js';
import { TS_PACKET } from './TsDemuxer.js';

export interface TsMuxerOptions {
  hasVideo?: boolean;
  hasAudio?: boolean;
  pmtPid?: number;
  videoPid?: number;
  audioPid?: number;
  /** Audio-only streams repeat PAT/PMT every this many frames. Default 40 (about 1 s of AAC). */
  audioPsiInterval?: number;
}

const WRAP = 2 ** 33;
const AUD = new Uint8Array([0, 0, 0, 1, NAL_AUD, 0xf0]);
const START_CODE = new Uint8Array([0, 0, 0, 1]);

/**
 * MPEG-TS muxer for H.264 + AAC: frames in (AVCC / raw AAC, ms), whole 188-byte packets out.
 * Each video access unit gets an AUD, and a keyframe gets the config's SPS/PPS in front of it and
 * PAT/PMT before it, so a reader can start at any keyframe. PCR rides on the video PID (audio
 * when there is no video) at every PES start. Calling rules: setConfig before the first frame of
 * a track; frames of codecs other than h264/aac throw.
 */
export class TsMuxer {
  private readonly hasVideo: boolean;
  private readonly hasAudio: boolean;
  private readonly pmtPid: number;
  private readonly videoPid: number;
  private readonly audioPid: number;
  private readonly pcrPid: number;
  private readonly audioPsiInterval: number;
  private readonly cc = new Map<number, number>();
  private paramSets: Uint8Array[] = [];
  private aac: AacInfo | undefined;
  private sincePsi = Infinity;

  constructor(options: TsMuxerOptions = {}) {
    this.hasVideo = options.hasVideo ?? true;
    this.hasAudio = options.hasAudio ?? true;
    this.pmtPid = options.pmtPid ?? 0x1000;
    this.videoPid = options.videoPid ?? 0x100;
    this.audioPid = options.audioPid ?? 0x101;
    this.pcrPid = this.hasVideo ? this.videoPid : this.audioPid;
    this.audioPsiInterval = options.audioPsiInterval ?? 40;
  }

  setConfig(config: CodecConfig): void {
    if (config.codec === 'h264') {
      const avc = parseAvcConfig(config.data);
      this.paramSets = [...avc.sps, ...avc.pps].map((n) => new Uint8Array(n));
    } else if (config.codec === 'aac') {
      this.aac = parseAudioSpecificConfig(config.data);
    } else {
      throw new Error(`TS muxer: codec ${config.codec} unsupported`);
    }
  }

  /** PAT + PMT packets. */
  psi(): Uint8Array {
    const streams: PmtStream[] = [];
    if (this.hasVideo) streams.push({ streamType: STREAM_TYPE_H264, pid: this.videoPid });
    if (this.hasAudio) streams.push({ streamType: STREAM_TYPE_AAC, pid: this.audioPid });
    const out = new Uint8Array(2 * TS_PACKET);
    this.sectionPacket(out, 0, 0, buildPat(this.pmtPid));
    this.sectionPacket(out, TS_PACKET, this.pmtPid, buildPmt(this.pcrPid, streams));
    this.sincePsi = 0;
    return out;
  }

  muxFrame(frame: MediaFrame): Uint8Array {
    const video = frame.codec === 'h264';
    if (!video && frame.codec !== 'aac') throw new Error(`TS muxer: codec ${frame.codec} unsupported`);
    const needPsi = this.sincePsi === Infinity
      || (video && frame.keyframe)
      || (!this.hasVideo && this.sincePsi >= this.audioPsiInterval);
    const psi = needPsi ? this.psi() : undefined;
    this.sincePsi++;
    const pes = video ? this.videoPes(frame) : this.audioPes(frame);
    const pid = video ? this.videoPid : this.audioPid;
    const pcr = pid === this.pcrPid ? ticks(frame.dts) : undefined;
    const packets = this.packetize(pes, pid, pcr, video && frame.keyframe, psi?.length ?? 0);
    if (psi) packets.set(psi, 0);
    return packets;
  }

  private videoPes(frame: MediaFrame): Uint8Array {
    const nals = splitAvcc(frame.data).filter((n) => n.length > 0 && (n[0]! & 0x1f) !== NAL_AUD);
    const prefix = frame.keyframe ? this.paramSets : [];
    let esLen = AUD.length;
    for (const n of prefix) esLen += 4 + n.length;
    for (const n of nals) esLen += 4 + n.length;
    const pts = ticks(frame.pts);
    const dts = ticks(frame.dts);
    const head = pesHeaderLength(pts !== dts);
    const pes = new Uint8Array(head + esLen);
    writePesHeader(pes, 0, 0xe0, pts, dts, esLen);
    let p = head;
    pes.set(AUD, p);
    p += AUD.length;
    for (const n of prefix) {
      pes.set(START_CODE, p);
      pes.set(n, p + 4);
      p += 4 + n.length;
    }
    for (const n of nals) {
      pes.set(START_CODE, p);
      pes.set(n, p + 4);
      p += 4 + n.length;
    }
    return pes;
  }

  private audioPes(frame: MediaFrame): Uint8Array {
    if (!this.aac) throw new Error('TS muxer: AAC frame before its config');
    const esLen = 7 + frame.data.length;
    const head = pesHeaderLength(false);
    const pes = new Uint8Array(head + esLen);
    const t = ticks(frame.pts);
    writePesHeader(pes, 0, 0xc0, t, t, esLen);
    writeAdtsHeader(pes, head, this.aac, frame.data.length);
    pes.set(frame.data, head + 7);
    return pes;
  }

  /** Splits a PES into packets after `lead` bytes left free for PSI; stuffing goes in adaptation fields. */
  private packetize(pes: Uint8Array, pid: number, pcr: number | undefined, randomAccess: boolean, lead: number): Uint8Array {
    const firstAf = pcr !== undefined ? 8 : randomAccess ? 2 : 0;
    const firstCap = 184 - firstAf;
    const count = 1 + Math.ceil(Math.max(0, pes.length - firstCap) / 184);
    const out = new Uint8Array(lead + count * TS_PACKET);
    let src = 0;
    for (let i = 0; i < count; i++) {
      const p = lead + i * TS_PACKET;
      const first = i === 0;
      const baseAf = first ? firstAf : 0;
      const take = Math.min(184 - baseAf, pes.length - src);
      const afLen = 184 - take; // whole adaptation field incl. its length byte; 0 = none
      out[p] = 0x47;
      out[p + 1] = (first ? 0x40 : 0) | (pid >> 8);
      out[p + 2] = pid & 0xff;
      out[p + 3] = (afLen > 0 ? 0x30 : 0x10) | this.nextCc(pid);
      if (afLen > 0) {
        out[p + 4] = afLen - 1;
        if (afLen > 1) {
          out[p + 5] = (first && randomAccess ? 0x40 : 0) | (first && pcr !== undefined ? 0x10 : 0);
          let q = p + 6;
          if (first && pcr !== undefined) {
            writePcr(out, q, pcr);
            q += 6;
          }
          out.fill(0xff, q, p + 4 + afLen);
        }
      }
      out.set(pes.subarray(src, src + take), p + 4 + afLen);
      src += take;
    }
    return out;
  }

  private sectionPacket(out: Uint8Array, p: number, pid: number, section: Uint8Array): void {
    out[p] = 0x47;
    out[p + 1] = 0x40 | (pid >> 8);
    out[p + 2] = pid & 0xff;
    out[p + 3] = 0x10 | this.nextCc(pid);
    out[p + 4] = 0; // pointer_field
    out.set(section, p + 5);
    out.fill(0xff, p + 5 + section.length, p + TS_PACKET);
  }

  private nextCc(pid: number): number {
    const c = this.cc.get(pid) ?? 0;
    this.cc.set(pid, (c + 1) & 0x0f);
    return c;
  }
}

/** ms -> 90 kHz, wrapped into 33 bits. */
function ticks(ms: number): number {
  return ((Math.round(ms * 90) % WRAP) + WRAP) % WRAP;
}

function writePcr(out: Uint8Array, p: number, base: number): void {
  const hi = Math.floor(base / 2);
  out[p] = (hi >>> 24) & 0xff;
  out[p + 1] = (hi >>> 16) & 0xff;
  out[p + 2] = (hi >>> 8) & 0xff;
  out[p + 3] = hi & 0xff;
  out[p + 4] = ((base & 1) << 7) | 0x7e;
  out[p + 5] = 0;
}
