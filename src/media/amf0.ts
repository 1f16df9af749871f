import { MediaParseError } from './frame.js';

/*
 * AMF0 (Adobe Action Message Format 0), as RTMP commands and FLV script tags carry it.
 *
 * Decoding treats input as hostile: every read is bounds-checked, nesting depth and the total
 * number of values are limited, and no array or string is allocated from a claimed length
 * before that length is checked against the bytes actually present. Errors are MediaParseError.
 *
 * Value mapping: number, boolean, string, null, undefined, Date map to themselves; objects and
 * ECMA arrays decode to null-prototype plain objects (a "__proto__" key is just a key); strict
 * arrays to arrays. To encode an ECMA array (onMetaData's usual form), wrap it in Amf0EcmaArray.
 */

export const Amf0Marker = {
  Number: 0x00,
  Boolean: 0x01,
  String: 0x02,
  Object: 0x03,
  Null: 0x05,
  Undefined: 0x06,
  Reference: 0x07,
  EcmaArray: 0x08,
  ObjectEnd: 0x09,
  StrictArray: 0x0a,
  Date: 0x0b,
  LongString: 0x0c,
  Unsupported: 0x0d,
  XmlDocument: 0x0f,
  TypedObject: 0x10,
} as const;

/** Marks an object to be encoded as an AMF0 ECMA array instead of an anonymous object. */
export class Amf0EcmaArray {
  constructor(readonly values: Record<string, unknown>) {}
}

export interface Amf0Limits {
  /** Nesting of objects/arrays. Default 16. */
  maxDepth: number;
  /** Values decoded in one call, nested ones included. Default 10,000. */
  maxValues: number;
}

export const DEFAULT_AMF0_LIMITS: Amf0Limits = { maxDepth: 16, maxValues: 10_000 };

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8enc = new TextEncoder();

class Reader {
  pos = 0;
  values = 0;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    readonly limits: Amf0Limits,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n: number): void {
    if (n > this.buf.length - this.pos) throw new MediaParseError(`amf0: need ${n} bytes at ${this.pos}, have ${this.buf.length - this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  utf8(len: number): string {
    this.need(len);
    const s = utf8.decode(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
}

function readValue(r: Reader, depth: number): unknown {
  if (++r.values > r.limits.maxValues) throw new MediaParseError(`amf0: more than ${r.limits.maxValues} values`);
  const marker = r.u8();
  switch (marker) {
    case Amf0Marker.Number:
      return r.f64();
    case Amf0Marker.Boolean:
      return r.u8() !== 0;
    case Amf0Marker.String:
      return r.utf8(r.u16());
    case Amf0Marker.LongString:
    case Amf0Marker.XmlDocument:
      return r.utf8(r.u32());
    case Amf0Marker.Null:
      return null;
    case Amf0Marker.Undefined:
    case Amf0Marker.Unsupported:
      return undefined;
    case Amf0Marker.Object:
      return readProperties(r, depth + 1);
    case Amf0Marker.TypedObject:
      r.utf8(r.u16());
      return readProperties(r, depth + 1);
    case Amf0Marker.EcmaArray:
      // The count is a hint that encoders get wrong; the object-end marker is what ends it.
      r.u32();
      return readProperties(r, depth + 1);
    case Amf0Marker.StrictArray:
      return readStrictArray(r, depth + 1);
    case Amf0Marker.Date: {
      const ms = r.f64();
      r.u16(); // time zone: reserved, should be 0
      return new Date(ms);
    }
    case Amf0Marker.Reference:
      throw new MediaParseError('amf0: references are not supported');
    case Amf0Marker.ObjectEnd:
      throw new MediaParseError(`amf0: object end outside an object at ${r.pos - 1}`);
    default:
      throw new MediaParseError(`amf0: unknown marker 0x${marker.toString(16)} at ${r.pos - 1}`);
  }
}

function readProperties(r: Reader, depth: number): Record<string, unknown> {
  if (depth > r.limits.maxDepth) throw new MediaParseError(`amf0: nesting deeper than ${r.limits.maxDepth}`);
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (;;) {
    const keyLen = r.u16();
    if (keyLen === 0) {
      r.need(1);
      if (r.buf[r.pos] === Amf0Marker.ObjectEnd) {
        r.pos++;
        return out;
      }
    }
    const key = r.utf8(keyLen);
    out[key] = readValue(r, depth);
  }
}

function readStrictArray(r: Reader, depth: number): unknown[] {
  if (depth > r.limits.maxDepth) throw new MediaParseError(`amf0: nesting deeper than ${r.limits.maxDepth}`);
  const count = r.u32();
  // Each element takes at least one byte: a count beyond the bytes left is a lie.
  if (count > r.buf.length - r.pos) throw new MediaParseError(`amf0: strict array of ${count} in ${r.buf.length - r.pos} bytes`);
  if (count > r.limits.maxValues) throw new MediaParseError(`amf0: strict array of ${count} values`);
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) out.push(readValue(r, depth));
  return out;
}

/** Decodes every value in `buf` (an RTMP command is a sequence of values). */
export function decodeAmf0(buf: Uint8Array, limits: Amf0Limits = DEFAULT_AMF0_LIMITS): unknown[] {
  const r = new Reader(buf, limits);
  const out: unknown[] = [];
  while (r.pos < buf.length) out.push(readValue(r, 0));
  return out;
}

/** Decodes one value at `offset`; returns it and the offset after it. */
export function decodeAmf0Value(buf: Uint8Array, offset = 0, limits: Amf0Limits = DEFAULT_AMF0_LIMITS): { value: unknown; end: number } {
  const r = new Reader(buf, limits);
  r.pos = offset;
  const value = readValue(r, 0);
  return { value, end: r.pos };
}

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.len, v);
    this.len += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.len, v);
    this.len += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.len, v);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function writeKey(w: Writer, key: string): void {
  const b = utf8enc.encode(key);
  if (b.length > 0xffff) throw new RangeError('amf0: property name longer than 65535 bytes');
  w.u16(b.length);
  w.bytes(b);
}

function writeProperties(w: Writer, obj: Record<string, unknown>, depth: number): void {
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'function' || typeof v === 'symbol') continue;
    writeKey(w, k);
    writeValue(w, v, depth);
  }
  w.u16(0);
  w.u8(Amf0Marker.ObjectEnd);
}

function writeValue(w: Writer, v: unknown, depth: number): void {
  if (depth > 64) throw new RangeError('amf0: value nested too deep (cyclic?)');
  if (v === null) return w.u8(Amf0Marker.Null);
  if (v === undefined) return w.u8(Amf0Marker.Undefined);
  if (typeof v === 'number') {
    w.u8(Amf0Marker.Number);
    return w.f64(v);
  }
  if (typeof v === 'bigint') {
    w.u8(Amf0Marker.Number);
    return w.f64(Number(v));
  }
  if (typeof v === 'boolean') {
    w.u8(Amf0Marker.Boolean);
    return w.u8(v ? 1 : 0);
  }
  if (typeof v === 'string') {
    const b = utf8enc.encode(v);
    if (b.length > 0xffff) {
      w.u8(Amf0Marker.LongString);
      w.u32(b.length);
    } else {
      w.u8(Amf0Marker.String);
      w.u16(b.length);
    }
    return w.bytes(b);
  }
  if (v instanceof Date) {
    w.u8(Amf0Marker.Date);
    w.f64(v.getTime());
    return w.u16(0);
  }
  if (Array.isArray(v)) {
    w.u8(Amf0Marker.StrictArray);
    w.u32(v.length);
    for (const item of v) writeValue(w, item, depth + 1);
    return;
  }
  if (v instanceof Amf0EcmaArray) {
    w.u8(Amf0Marker.EcmaArray);
    w.u32(Object.keys(v.values).length);
    return writeProperties(w, v.values, depth + 1);
  }
  if (typeof v === 'object') {
    w.u8(Amf0Marker.Object);
    return writeProperties(w, v as Record<string, unknown>, depth + 1);
  }
  w.u8(Amf0Marker.Undefined);
}

/** Encodes values one after another (an RTMP command: name, transaction id, args...). */
export function encodeAmf0(...values: unknown[]): Uint8Array {
  const w = new Writer();
  for (const v of values) writeValue(w, v, 0);
  return w.result();
}
