/**
 * The media framing over the transport: one transport message carries one of these.
 *
 *   byte 0: version (high nibble, 1) | type (low nibble, codes.ts MessageType)
 *
 *   frame    (audio / video / data streams):
 *     u8 codec | u8 flags (bit0 keyframe, bit1 reference, bit2 captureTime present, bits 4-5 kind)
 *     f64 dts ms | f64 pts - dts ms | [f64 captureTime ms] | payload (rest of the message)
 *   config   (control stream, reliable): u8 codec | u8 kind | u8 present-bits
 *     [u16 width][u16 height][u32 sampleRate][u8 channels][u8 level][str8 codecString][str8 profile]
 *     u32 length | record bytes
 *   metadata (control): UTF-8 JSON object (at most 64 KiB)
 *   hello    (control, client's first message): u8 role (1 publish, 2 play) | str8 app | str8 key
 *            [u16 latency ms, 50..60000: a player's delivery deadline; absent = the server's default;
 *             0 = the server's default, written only before a quality]
 *            [str8 quality: a player's rendition of a ladder, `auto`, `source` or a rendition's name]
 *   welcome  (control, server's answer): str8 note
 *   refuse   (control, server, then close): str8 reason
 *   end      (control, either side): str8 reason
 *   report   (control, publisher, once a second): see report.ts
 *
 * The payload length is the message length: the transport delimits messages, so there is no
 * length field to lie about. Decoding never copies a payload and never allocates more than the
 * message itself; every field is checked and a bad one throws MediaParseError.
 */
import type { CodecConfig, MediaFrame } from '../frame.js';
import { MediaParseError } from '../frame.js';
import { Reader, Writer } from './bytes.js';
import { decodeReportBody, type SenderReport } from './report.js';
import { FRAMING_VERSION, MessageType, codecCode, codecFromCode, header, kindCode, kindFromCode, kindOfCodec } from './codes.js';

export type Role = 'publish' | 'play';

export type TributaryMessage =
  | { type: 'frame'; frame: MediaFrame }
  | { type: 'config'; config: CodecConfig }
  | { type: 'metadata'; values: Record<string, unknown> }
  | { type: 'hello'; role: Role; app: string; key: string; latencyMs?: number; quality?: string }
  | { type: 'welcome'; note: string }
  | { type: 'refuse'; reason: string }
  | { type: 'end'; reason: string }
  | { type: 'report'; report: SenderReport };

export interface DecodeLimits {
  /** Largest frame payload accepted (default 8 MiB). */
  maxFrameBytes: number;
  /** Largest codec config record (default 64 KiB). */
  maxConfigBytes: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxFrameBytes: 8 << 20, maxConfigBytes: 64 << 10 };

/** |dts| and captureTime beyond this (about 300 years in ms) are absurd. */
const MAX_TIME_MS = 1e13;
/** Composition offset beyond a minute is absurd (B-frame reorder is tens of ms). */
const MAX_CTS_MS = 60_000;
const MAX_METADATA_BYTES = 64 << 10;

export function encodeFrame(f: MediaFrame): Uint8Array {
  const hasCapture = f.captureTime !== undefined;
  const flags = (f.keyframe ? 1 : 0) | (f.reference ? 2 : 0) | (hasCapture ? 4 : 0) | (kindCode(f.kind) << 4);
  const w = new Writer(27 + f.data.length)
    .u8(header(MessageType.frame))
    .u8(codecCode(f.codec))
    .u8(flags)
    .f64(f.dts)
    .f64(f.pts - f.dts);
  if (hasCapture) w.f64(f.captureTime!);
  return w.bytes(f.data).finish();
}

export function encodeConfig(c: CodecConfig): Uint8Array {
  const present =
    (c.width !== undefined ? 1 : 0) |
    (c.height !== undefined ? 2 : 0) |
    (c.sampleRate !== undefined ? 4 : 0) |
    (c.channels !== undefined ? 8 : 0) |
    (c.level !== undefined ? 16 : 0) |
    (c.codecString !== undefined ? 32 : 0) |
    (c.profile !== undefined ? 64 : 0);
  const w = new Writer(64 + c.data.length).u8(header(MessageType.config)).u8(codecCode(c.codec)).u8(kindCode(c.kind)).u8(present);
  if (c.width !== undefined) w.u16(c.width);
  if (c.height !== undefined) w.u16(c.height);
  if (c.sampleRate !== undefined) w.u32(c.sampleRate);
  if (c.channels !== undefined) w.u8(c.channels);
  if (c.level !== undefined) w.u8(c.level);
  if (c.codecString !== undefined) w.str8(c.codecString);
  if (c.profile !== undefined) w.str8(c.profile);
  return w.u32(c.data.length).bytes(c.data).finish();
}

export function encodeMetadata(values: Record<string, unknown>): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(values));
  if (json.length > MAX_METADATA_BYTES) throw new RangeError('metadata too large');
  return new Writer(1 + json.length).u8(header(MessageType.metadata)).bytes(json).finish();
}

/** Hello limits for `latencyMs`, the same as a tributary:// URL's `latency=`. */
export const HELLO_LATENCY_MS = { min: 50, max: 60_000 } as const;
/** A hello's quality: `auto`, `source` or a ladder rung's name (JobSpec's names). */
export const QUALITY_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * The client's first message. `latencyMs` and `quality` are only written when given, so a
 * hello without them is byte for byte what servers from before the fields accept (a server
 * from before `quality` refuses a hello that has it: trailing bytes).
 */
export function encodeHello(role: Role, app: string, key: string, latencyMs?: number, quality?: string): Uint8Array {
  const w = new Writer(44 + app.length + key.length).u8(header(MessageType.hello)).u8(role === 'publish' ? 1 : 2).str8(app).str8(key);
  if (latencyMs !== undefined) {
    if (!Number.isInteger(latencyMs) || latencyMs < HELLO_LATENCY_MS.min || latencyMs > HELLO_LATENCY_MS.max) throw new RangeError(`latency must be ${HELLO_LATENCY_MS.min}..${HELLO_LATENCY_MS.max} ms`);
  }
  if (quality !== undefined && !QUALITY_NAME.test(quality)) throw new RangeError('quality must be 1-32 of A-Z a-z 0-9 _ -');
  if (latencyMs !== undefined || quality !== undefined) w.u16(latencyMs ?? 0);
  if (quality !== undefined) w.str8(quality);
  return w.finish();
}

export function encodeText(type: 'welcome' | 'refuse' | 'end', text: string): Uint8Array {
  const clipped = clip255(text);
  return new Writer(2 + clipped.length).u8(header(MessageType[type])).str8(clipped).finish();
}

/** Decodes one transport message. Throws MediaParseError on anything malformed or absurd. */
export function decodeMessage(data: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): TributaryMessage {
  const r = new Reader(data);
  const first = r.u8();
  if (first >> 4 !== FRAMING_VERSION) throw new MediaParseError(`unsupported framing version ${first >> 4}`);
  switch (first & 15) {
    case MessageType.frame:
      return { type: 'frame', frame: decodeFrameBody(r, limits) };
    case MessageType.config:
      return { type: 'config', config: decodeConfigBody(r, limits) };
    case MessageType.metadata:
      return { type: 'metadata', values: decodeMetadataBody(r) };
    case MessageType.report:
      return { type: 'report', report: decodeReportBody(r) };
    case MessageType.hello: {
      const role = r.u8();
      if (role !== 1 && role !== 2) throw new MediaParseError(`bad role ${role}`);
      const app = r.str8();
      const key = r.str8();
      const hello: TributaryMessage = { type: 'hello', role: role === 1 ? 'publish' : 'play', app, key };
      if (r.remaining > 0) {
        const latencyMs = r.u16();
        const defaulted = latencyMs === 0 && r.remaining > 0;
        if (!defaulted && (latencyMs < HELLO_LATENCY_MS.min || latencyMs > HELLO_LATENCY_MS.max)) throw new MediaParseError(`hello latency ${latencyMs} ms outside ${HELLO_LATENCY_MS.min}..${HELLO_LATENCY_MS.max}`);
        if (!defaulted) hello.latencyMs = latencyMs;
      }
      if (r.remaining > 0) {
        const quality = r.str8();
        if (!QUALITY_NAME.test(quality)) throw new MediaParseError('hello quality must be 1-32 of A-Z a-z 0-9 _ -');
        hello.quality = quality;
      }
      r.end();
      return hello;
    }
    case MessageType.welcome:
    case MessageType.refuse:
    case MessageType.end: {
      const text = r.str8();
      r.end();
      const type = (first & 15) === MessageType.welcome ? 'welcome' : (first & 15) === MessageType.refuse ? 'refuse' : 'end';
      return type === 'welcome' ? { type, note: text } : { type, reason: text };
    }
    default:
      throw new MediaParseError(`unknown message type ${first & 15}`);
  }
}

function decodeFrameBody(r: Reader, limits: DecodeLimits): MediaFrame {
  const codec = codecFromCode(r.u8());
  const flags = r.u8();
  if (flags & 0xc8) throw new MediaParseError(`reserved frame flags set`);
  const kind = kindFromCode((flags >> 4) & 3);
  if (kind !== kindOfCodec(codec)) throw new MediaParseError(`kind ${kind} does not match codec ${codec}`);
  const dts = r.f64();
  if (Math.abs(dts) > MAX_TIME_MS) throw new MediaParseError(`absurd dts ${dts}`);
  const cts = r.f64();
  if (Math.abs(cts) > MAX_CTS_MS) throw new MediaParseError(`absurd composition offset ${cts}`);
  let captureTime: number | undefined;
  if (flags & 4) {
    captureTime = r.f64();
    if (captureTime < 0 || captureTime > MAX_TIME_MS) throw new MediaParseError(`absurd captureTime ${captureTime}`);
  }
  if (r.remaining > limits.maxFrameBytes) throw new MediaParseError(`frame of ${r.remaining} bytes over the limit`);
  const data = r.rest();
  const frame: MediaFrame = { kind, codec, dts, pts: dts + cts, keyframe: (flags & 1) !== 0, reference: (flags & 2) !== 0, data };
  if (captureTime !== undefined) frame.captureTime = captureTime;
  return frame;
}

function decodeConfigBody(r: Reader, limits: DecodeLimits): CodecConfig {
  const codec = codecFromCode(r.u8());
  const kind = kindFromCode(r.u8());
  if (codec === 'amf0' || kind === 'data' || kindOfCodec(codec) !== kind) throw new MediaParseError(`bad config codec ${codec} / kind ${kind}`);
  const present = r.u8();
  if (present & 0x80) throw new MediaParseError('reserved config bits set');
  const c = { kind, codec } as CodecConfig;
  if (present & 1) c.width = r.u16();
  if (present & 2) c.height = r.u16();
  if (present & 4) c.sampleRate = r.u32();
  if (present & 8) c.channels = r.u8();
  if (present & 16) c.level = r.u8();
  if (present & 32) c.codecString = r.str8();
  if (present & 64) c.profile = r.str8();
  const len = r.u32();
  if (len > limits.maxConfigBytes) throw new MediaParseError(`config record of ${len} bytes over the limit`);
  c.data = r.bytes(len);
  r.end();
  return c;
}

function decodeMetadataBody(r: Reader): Record<string, unknown> {
  if (r.remaining > MAX_METADATA_BYTES) throw new MediaParseError('metadata too large');
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(r.rest()));
  } catch {
    throw new MediaParseError('metadata is not UTF-8 JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MediaParseError('metadata is not an object');
  return v as Record<string, unknown>;
}

function clip255(s: string): string {
  let out = s.slice(0, 255);
  while (new TextEncoder().encode(out).length > 255) out = out.slice(0, -1);
  return out;
}
