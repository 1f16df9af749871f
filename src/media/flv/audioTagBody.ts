import { MediaParseError, type AudioCodec, type CodecConfig, type DemuxOutput, type MediaFrame } from '../frame.js';
import { aacConfigFromAsc } from '../codec/aac.js';
import { opusConfigFromHead } from '../codec/opus.js';
import { PACKET_MOD_EX, readFourCc, skipModEx, writeFourCc } from './fourcc.js';

/**
 * FLV audio tag bodies (FLV tag type 8, RTMP message type 8): legacy AAC (sound format 10) and
 * MP3 (2), and enhanced RTMP audio (sound format 9, FourCC Opus / mp4a / .mp3).
 *
 * Frame payloads returned are views into `body`; configs are copies (kept for the stream's life).
 */

const FORMAT_MP3 = 2;
const FORMAT_EX = 9;
const FORMAT_AAC = 10;

const EX_SEQUENCE_START = 0;
const EX_CODED_FRAMES = 1;
const EX_SEQUENCE_END = 2;
const EX_MULTICHANNEL_CONFIG = 4;
const EX_MULTITRACK = 5;

const FOURCC_CODECS: Record<string, AudioCodec> = { Opus: 'opus', mp4a: 'aac', '.mp3': 'mp3' };

/** Legacy header byte for AAC: format 10, 44 kHz, 16-bit, stereo (the spec fixes these for AAC). */
const AAC_HEADER = 0xaf;
/** Legacy header byte for MP3: players read rate and channels from the MP3 frames themselves. */
const MP3_HEADER = 0x2f;

export function parseAudioTag(body: Uint8Array, timestampMs: number): DemuxOutput[] {
  if (body.length < 1) throw new MediaParseError('empty FLV audio tag');
  const format = body[0]! >> 4;
  if (format === FORMAT_EX) return parseExAudio(body, timestampMs);
  if (format === FORMAT_MP3) return frameOutput('mp3', timestampMs, body.subarray(1));
  if (format !== FORMAT_AAC) throw new MediaParseError(`FLV sound format ${format} unsupported`);
  if (body.length < 2) throw new MediaParseError('FLV AAC tag truncated');
  const packetType = body[1]!;
  if (packetType === 0) return [{ type: 'config', config: aacConfigFromAsc(new Uint8Array(body.subarray(2))) }];
  if (packetType !== 1) throw new MediaParseError(`FLV AAC packet type ${packetType}`);
  return frameOutput('aac', timestampMs, body.subarray(2));
}

function parseExAudio(body: Uint8Array, timestampMs: number): DemuxOutput[] {
  let packetType = body[0]! & 0x0f;
  let pos = 1;
  if (packetType === PACKET_MOD_EX) ({ packetType, pos } = skipModEx(body, pos));
  if (packetType === EX_MULTITRACK) throw new MediaParseError('E-RTMP multitrack audio unsupported');
  const fourcc = readFourCc(body, pos);
  pos += 4;
  const codec = FOURCC_CODECS[fourcc];
  if (!codec) throw new MediaParseError(`E-RTMP audio FourCC ${JSON.stringify(fourcc)} unsupported`);
  switch (packetType) {
    case EX_SEQUENCE_START:
      if (codec === 'opus') return [{ type: 'config', config: opusConfigFromHead(new Uint8Array(body.subarray(pos))) }];
      if (codec === 'aac') return [{ type: 'config', config: aacConfigFromAsc(new Uint8Array(body.subarray(pos))) }];
      return [];
    case EX_CODED_FRAMES:
      return frameOutput(codec, timestampMs, body.subarray(pos));
    case EX_SEQUENCE_END:
    case EX_MULTICHANNEL_CONFIG:
      return [];
    default:
      throw new MediaParseError(`E-RTMP audio packet type ${packetType}`);
  }
}

function frameOutput(codec: AudioCodec, ts: number, data: Uint8Array): DemuxOutput[] {
  if (data.length === 0) return [];
  const frame: MediaFrame = { kind: 'audio', codec, dts: ts, pts: ts, keyframe: true, reference: true, data };
  return [{ type: 'frame', frame }];
}

/** Bytes that precede the frame payload in its tag body. */
export function audioBodyHeaderLength(frame: MediaFrame): number {
  if (frame.codec === 'aac') return 2;
  if (frame.codec === 'mp3') return 1;
  if (frame.codec === 'opus') return 5;
  throw new Error(`not an audio codec: ${frame.codec}`);
}

export function writeAudioBodyHeader(frame: MediaFrame, out: Uint8Array, pos: number): void {
  if (frame.codec === 'aac') {
    out[pos] = AAC_HEADER;
    out[pos + 1] = 1;
  } else if (frame.codec === 'mp3') {
    out[pos] = MP3_HEADER;
  } else {
    out[pos] = (FORMAT_EX << 4) | EX_CODED_FRAMES;
    writeFourCc(out, pos + 1, 'Opus');
  }
}

export function buildAudioTag(frame: MediaFrame): Uint8Array {
  const head = audioBodyHeaderLength(frame);
  const out = new Uint8Array(head + frame.data.length);
  writeAudioBodyHeader(frame, out, 0);
  out.set(frame.data, head);
  return out;
}

/** MP3 has no config record; asking for its config tag is a caller error. */
export function audioConfigBodyHeaderLength(config: CodecConfig): number {
  if (config.codec === 'aac') return 2;
  if (config.codec === 'opus') return 5;
  throw new Error(`no FLV config tag for ${config.codec}`);
}

export function writeAudioConfigBodyHeader(config: CodecConfig, out: Uint8Array, pos: number): void {
  if (config.codec === 'aac') {
    out[pos] = AAC_HEADER;
    out[pos + 1] = 0;
  } else {
    out[pos] = (FORMAT_EX << 4) | EX_SEQUENCE_START;
    writeFourCc(out, pos + 1, 'Opus');
  }
}

export function buildAudioConfigTag(config: CodecConfig): Uint8Array {
  const head = audioConfigBodyHeaderLength(config);
  const out = new Uint8Array(head + config.data.length);
  writeAudioConfigBodyHeader(config, out, 0);
  out.set(config.data, head);
  return out;
}
