/**
 * Bounds-checked cursor reads and writes over a byte array. Every read checks the remaining
 * length first and throws WireError (never a RangeError from a DataView); decoders catch it
 * at the packet boundary. Nothing here allocates in proportion to a length read off the wire:
 * `bytes` returns a view into the input after checking the length fits.
 */
export class WireError extends Error {
  constructor(readonly reason: string) {
    super(reason);
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
  zeros(n: number): this {
    this.need(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
}
