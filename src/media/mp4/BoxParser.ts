import { MediaParseError } from '../frame.js';

/** One box found in a buffer: where it is, and its children if it is a container. */
export interface Mp4Box {
  type: string;
  /** Offset of the box header in the buffer. */
  start: number;
  /** Offset of the payload (after size, type and any 64-bit size). */
  payload: number;
  /** Offset just past the box. */
  end: number;
  children?: Mp4Box[];
}

export interface BoxLimits {
  /** Nesting deeper than this is refused (a crafted file could nest thousands of levels). */
  maxDepth: number;
  /** Total boxes per parse; bounds the tree's memory whatever the sizes claim. */
  maxBoxes: number;
}

export const DEFAULT_BOX_LIMITS: BoxLimits = { maxDepth: 12, maxBoxes: 100_000 };

/** Containers and the bytes to skip before their children (full-box headers, sample entry fields). */
const CHILD_OFFSET = new Map<number, number>(Object.entries({
  moov: 0, trak: 0, mdia: 0, minf: 0, stbl: 0, mvex: 0, moof: 0, traf: 0, dinf: 0, edts: 0, mfra: 0,
  stsd: 8, dref: 8,
  avc1: 78, avc3: 78, hvc1: 78, hev1: 78, mp4a: 28,
}).map(([t, n]) => [code(t), n]));

function code(t: string): number {
  return ((t.charCodeAt(0) << 24) | (t.charCodeAt(1) << 16) | (t.charCodeAt(2) << 8) | t.charCodeAt(3)) >>> 0;
}

/** Type strings by code: real files use a few dozen types, so most boxes need no new string. Bounded. */
const TYPE_NAMES = new Map<number, string>();

function typeName(c: number): string {
  let name = TYPE_NAMES.get(c);
  if (name === undefined) {
    name = String.fromCharCode(c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff);
    if (TYPE_NAMES.size < 512) TYPE_NAMES.set(c, name);
  }
  return name;
}

/**
 * Parses the boxes in buf[start, end) into a tree. Every size is checked against the bytes
 * that actually remain before anything is read at that position, so lying sizes, truncation
 * and deep nesting end in a MediaParseError, never a RangeError or a large allocation
 * (the tree holds offsets into buf, not copies).
 */
export function parseBoxes(buf: Uint8Array, start = 0, end = buf.length, limits: BoxLimits = DEFAULT_BOX_LIMITS): Mp4Box[] {
  const budget = { boxes: 0 };
  return parseLevel(buf, start, end, 0, limits, budget);
}

function parseLevel(buf: Uint8Array, start: number, end: number, depth: number, limits: BoxLimits, budget: { boxes: number }): Mp4Box[] {
  if (depth > limits.maxDepth) throw new MediaParseError(`boxes nested deeper than ${limits.maxDepth}`);
  const out: Mp4Box[] = [];
  let pos = start;
  while (pos < end) {
    if (end - pos < 8) throw new MediaParseError(`truncated box header at ${pos}`);
    if (++budget.boxes > limits.maxBoxes) throw new MediaParseError(`more than ${limits.maxBoxes} boxes`);
    const size32 = ((buf[pos]! << 24) >>> 0) + ((buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!);
    const typeCode = ((buf[pos + 4]! << 24) | (buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!) >>> 0;
    const type = typeName(typeCode);
    let payload = pos + 8;
    let size: number;
    if (size32 === 1) {
      if (end - pos < 16) throw new MediaParseError(`truncated large size of ${type} at ${pos}`);
      const hi = ((buf[pos + 8]! << 24) >>> 0) + ((buf[pos + 9]! << 16) | (buf[pos + 10]! << 8) | buf[pos + 11]!);
      const lo = ((buf[pos + 12]! << 24) >>> 0) + ((buf[pos + 13]! << 16) | (buf[pos + 14]! << 8) | buf[pos + 15]!);
      if (hi >= 0x200000) throw new MediaParseError(`size of ${type} beyond 2^53`);
      size = hi * 0x100000000 + lo;
      payload = pos + 16;
    } else if (size32 === 0) {
      size = end - pos; // "extends to the end of the file"
    } else {
      size = size32;
    }
    if (size < payload - pos) throw new MediaParseError(`${type} at ${pos}: size ${size} smaller than its header`);
    if (size > end - pos) throw new MediaParseError(`${type} at ${pos}: size ${size} runs past the end (${end - pos} left)`);
    const box: Mp4Box = { type, start: pos, payload, end: pos + size, children: undefined };
    const skip = CHILD_OFFSET.get(typeCode);
    if (skip !== undefined) {
      if (box.end - payload < skip) throw new MediaParseError(`${type} at ${pos} too short for its fields`);
      box.children = parseLevel(buf, payload + skip, box.end, depth + 1, limits, budget);
    }
    out.push(box);
    pos = box.end;
  }
  return out;
}

/** The first box along a path of types ("moov/trak/mdia"), or undefined. */
export function findBox(boxes: readonly Mp4Box[] | undefined, path: string): Mp4Box | undefined {
  let steps = PATHS.get(path);
  if (!steps) {
    steps = path.split('/');
    if (PATHS.size < 256) PATHS.set(path, steps);
  }
  let level = boxes;
  let found: Mp4Box | undefined;
  for (const type of steps) {
    found = undefined;
    if (level) {
      for (const b of level) {
        if (b.type === type) {
          found = b;
          break;
        }
      }
    }
    if (!found) return undefined;
    level = found.children;
  }
  return found;
}

/** Split paths, by path: callers use a handful of constant paths. */
const PATHS = new Map<string, string[]>();

/** All direct children of one type. */
export function boxesOf(boxes: readonly Mp4Box[] | undefined, type: string): Mp4Box[] {
  return boxes ? boxes.filter((b) => b.type === type) : [];
}

/** Bounds-checked big-endian reads inside one box's payload. */
export class BoxReader {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
  }
  static of(buf: Uint8Array, box: Mp4Box): BoxReader {
    return new BoxReader(buf, box.payload, box.end);
  }
  get left(): number {
    return this.end - this.pos;
  }
  need(n: number): void {
    if (n > this.end - this.pos) throw new MediaParseError(`box payload truncated at ${this.pos}`);
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const p = this.pos;
    this.pos += 2;
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }
  u32(): number {
    this.need(4);
    const b = this.buf, p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }
  i32(): number {
    return this.u32() | 0;
  }
  /** A 64-bit value as a number; refuses values beyond 2^53 rather than lose precision. */
  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    if (hi >= 0x200000) throw new MediaParseError('64-bit value beyond 2^53');
    return hi * 0x100000000 + lo;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}
