import type { Codec, MediaKind } from '../frame.js';
import { MediaParseError } from '../frame.js';

/** Wire version of the media framing; the high nibble of every message's first byte. */
export const FRAMING_VERSION = 1;

/** The low nibble of the first byte. */
export const MessageType = {
  frame: 1,
  config: 2,
  metadata: 3,
  /** The sender's own session figures, once a second (report.ts). */
  report: 4,
  hello: 8,
  welcome: 9,
  refuse: 10,
  end: 11,
} as const;

const CODECS: readonly Codec[] = ['h264', 'hevc', 'av1', 'aac', 'opus', 'mp3', 'amf0'];
const KINDS: readonly MediaKind[] = ['video', 'audio', 'data'];

export function codecCode(c: Codec): number {
  return CODECS.indexOf(c) + 1;
}

export function codecFromCode(n: number): Codec {
  const c = CODECS[n - 1];
  if (!c) throw new MediaParseError(`unknown codec code ${n}`);
  return c;
}

export function kindCode(k: MediaKind): number {
  return KINDS.indexOf(k);
}

export function kindFromCode(n: number): MediaKind {
  const k = KINDS[n];
  if (!k) throw new MediaParseError(`unknown kind ${n}`);
  return k;
}

/** The kind a codec belongs to; a message whose kind and codec disagree is a lie and refused. */
export function kindOfCodec(c: Codec): MediaKind {
  if (c === 'h264' || c === 'hevc' || c === 'av1') return 'video';
  if (c === 'amf0') return 'data';
  return 'audio';
}

export function header(type: number): number {
  return (FRAMING_VERSION << 4) | type;
}
