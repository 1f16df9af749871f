import { MediaParseError } from '../frame.js';

/**
 * Bounds-checked big-endian reader over one transport message. Every read checks the
 * remaining length first and throws MediaParseError, which receive paths catch and count.
 */
export class Reader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.remaining < n) throw new MediaParseError(`truncated: need ${n} bytes, have ${this.remaining}`);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
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
    if (!Number.isFinite(v)) throw new MediaParseError('non-finite number');
    return v;
  }

  /** A view (no copy) of the next n bytes, n checked against what is left before anything else. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** A string of at most 255 UTF-8 bytes (u8 length prefix); invalid UTF-8 is refused. */
  str8(): string {
    const b = this.bytes(this.u8());
    try {
      return DECODER.decode(b);
    } catch {
      throw new MediaParseError('invalid UTF-8');
    }
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  end(): void {
    if (this.remaining !== 0) throw new MediaParseError(`${this.remaining} trailing bytes`);
  }
}

const DECODER = new TextDecoder('utf-8', { fatal: true });
const ENCODER = new TextEncoder();

/** Growable writer; messages are small (headers) or one payload copy, so a plain array of parts is enough. */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.pos++, v);
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  f64(v: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Strings longer than 255 UTF-8 bytes are a caller bug (names and tokens are bounded upstream). */
  str8(s: string): this {
    const b = ENCODER.encode(s);
    if (b.length > 255) throw new RangeError(`string longer than 255 bytes`);
    return this.u8(b.length).bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
