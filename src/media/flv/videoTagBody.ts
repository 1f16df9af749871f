import { MediaParseError, type CodecConfig, type DemuxOutput, type MediaFrame, type VideoCodec } from '../frame.js';
import { h264ConfigFromRecord } from '../codec/h264.js';
import { hevcConfigFromRecord } from '../codec/hevc.js';
import { av1ConfigFromRecord } from '../codec/av1.js';
import { PACKET_MOD_EX, readFourCc, readSi24, skipModEx, writeFourCc, writeSi24 } from './fourcc.js';

/**
 * FLV video tag bodies (the payload of an FLV tag type 9 and of an RTMP message type 9):
 * legacy AVC (codec id 7, and the common HEVC extension id 12) and enhanced RTMP
 * (ex-header bit, FourCC avc1 / hvc1 / av01).
 *
 * Frame payloads returned are views into `body`; configs are copies (they are kept for the
 * stream's lifetime and must not pin a large receive buffer).
 */

const FRAME_KEY = 1;
const FRAME_DISPOSABLE = 3;
const FRAME_COMMAND = 5;

const LEGACY_CODECS: Record<number, VideoCodec> = { 7: 'h264', 12: 'hevc' };
const FOURCC_CODECS: Record<string, VideoCodec> = { avc1: 'h264', hvc1: 'hevc', av01: 'av1' };
const CODEC_FOURCC: Record<VideoCodec, string> = { h264: 'avc1', hevc: 'hvc1', av1: 'av01' };

const EX_SEQUENCE_START = 0;
const EX_CODED_FRAMES = 1;
const EX_SEQUENCE_END = 2;
const EX_CODED_FRAMES_X = 3;
const EX_METADATA = 4;
const EX_MPEG2TS_SEQUENCE_START = 5;
const EX_MULTITRACK = 6;

export function parseVideoTag(body: Uint8Array, timestampMs: number): DemuxOutput[] {
  if (body.length < 1) throw new MediaParseError('empty FLV video tag');
  const b0 = body[0]!;
  if (b0 & 0x80) return parseExVideo(body, timestampMs);
  const frameType = b0 >> 4;
  if (frameType === FRAME_COMMAND) return [];
  const codec = LEGACY_CODECS[b0 & 0x0f];
  if (!codec) throw new MediaParseError(`FLV video codec id ${b0 & 0x0f} unsupported`);
  if (body.length < 5) throw new MediaParseError('FLV video tag truncated');
  const packetType = body[1]!;
  if (packetType === 0) return [{ type: 'config', config: videoConfig(codec, body.subarray(5)) }];
  if (packetType === 2) return [];
  if (packetType !== 1) throw new MediaParseError(`FLV AVC packet type ${packetType}`);
  return frameOutput(codec, frameType, timestampMs, readSi24(body, 2), body.subarray(5));
}

function parseExVideo(body: Uint8Array, timestampMs: number): DemuxOutput[] {
  const b0 = body[0]!;
  const frameType = (b0 >> 4) & 7;
  let packetType = b0 & 0x0f;
  let pos = 1;
  if (packetType === PACKET_MOD_EX) ({ packetType, pos } = skipModEx(body, pos));
  if (packetType !== EX_METADATA && frameType === FRAME_COMMAND) return [];
  if (packetType === EX_MULTITRACK) throw new MediaParseError('E-RTMP multitrack video unsupported');
  const fourcc = readFourCc(body, pos);
  pos += 4;
  const codec = FOURCC_CODECS[fourcc];
  if (!codec) throw new MediaParseError(`E-RTMP video FourCC ${JSON.stringify(fourcc)} unsupported`);
  switch (packetType) {
    case EX_SEQUENCE_START:
      return [{ type: 'config', config: videoConfig(codec, body.subarray(pos)) }];
    case EX_CODED_FRAMES: {
      if (codec === 'av1') return frameOutput(codec, frameType, timestampMs, 0, body.subarray(pos));
      if (pos + 3 > body.length) throw new MediaParseError('E-RTMP coded frame truncated');
      return frameOutput(codec, frameType, timestampMs, readSi24(body, pos), body.subarray(pos + 3));
    }
    case EX_CODED_FRAMES_X:
      return frameOutput(codec, frameType, timestampMs, 0, body.subarray(pos));
    case EX_SEQUENCE_END:
    case EX_METADATA:
    case EX_MPEG2TS_SEQUENCE_START:
      return [];
    default:
      throw new MediaParseError(`E-RTMP video packet type ${packetType}`);
  }
}

function videoConfig(codec: VideoCodec, record: Uint8Array): CodecConfig {
  // new Uint8Array(view) copies even when the view is a Node Buffer (whose slice() does not).
  const data = new Uint8Array(record);
  if (codec === 'h264') return h264ConfigFromRecord(data);
  if (codec === 'hevc') return hevcConfigFromRecord(data);
  return av1ConfigFromRecord(data);
}

function frameOutput(codec: VideoCodec, frameType: number, dts: number, cts: number, data: Uint8Array): DemuxOutput[] {
  if (data.length === 0) return [];
  const frame: MediaFrame = {
    kind: 'video', codec, dts, pts: dts + cts,
    keyframe: frameType === FRAME_KEY, reference: frameType !== FRAME_DISPOSABLE, data,
  };
  return [{ type: 'frame', frame }];
}

/** Bytes that precede the frame payload in its tag body. */
export function videoBodyHeaderLength(frame: MediaFrame): number {
  if (frame.codec === 'h264') return 5;
  if (frame.codec === 'hevc') return frame.pts !== frame.dts ? 8 : 5;
  if (frame.codec === 'av1') return 5;
  throw new Error(`not a video codec: ${frame.codec}`);
}

/** Writes the tag-body header for `frame` at `out[pos]`; the payload goes right after it. */
export function writeVideoBodyHeader(frame: MediaFrame, out: Uint8Array, pos: number): void {
  const frameType = frame.keyframe ? FRAME_KEY : frame.reference ? 2 : FRAME_DISPOSABLE;
  const cts = frame.pts - frame.dts;
  if (frame.codec === 'h264') {
    out[pos] = (frameType << 4) | 7;
    out[pos + 1] = 1;
    writeSi24(out, pos + 2, cts);
    return;
  }
  const withCts = frame.codec === 'hevc' && cts !== 0;
  // av01 CodedFrames carry no composition time; hvc1 uses CodedFramesX when it is zero.
  const packetType = withCts || frame.codec === 'av1' ? EX_CODED_FRAMES : EX_CODED_FRAMES_X;
  out[pos] = 0x80 | (frameType << 4) | packetType;
  writeFourCc(out, pos + 1, CODEC_FOURCC[frame.codec as VideoCodec]);
  if (withCts) writeSi24(out, pos + 5, cts);
}

export function buildVideoTag(frame: MediaFrame): Uint8Array {
  const head = videoBodyHeaderLength(frame);
  const out = new Uint8Array(head + frame.data.length);
  writeVideoBodyHeader(frame, out, 0);
  out.set(frame.data, head);
  return out;
}

export function videoConfigBodyHeaderLength(config: CodecConfig): number {
  if (config.codec === 'h264' || config.codec === 'hevc' || config.codec === 'av1') return 5;
  throw new Error(`not a video codec: ${config.codec}`);
}

export function writeVideoConfigBodyHeader(config: CodecConfig, out: Uint8Array, pos: number): void {
  if (config.codec === 'h264') {
    out.set([0x17, 0, 0, 0, 0], pos);
    return;
  }
  out[pos] = 0x80 | (FRAME_KEY << 4) | EX_SEQUENCE_START;
  writeFourCc(out, pos + 1, CODEC_FOURCC[config.codec as VideoCodec]);
}

export function buildVideoConfigTag(config: CodecConfig): Uint8Array {
  const head = videoConfigBodyHeaderLength(config);
  const out = new Uint8Array(head + config.data.length);
  writeVideoConfigBodyHeader(config, out, 0);
  out.set(config.data, head);
  return out;
}
