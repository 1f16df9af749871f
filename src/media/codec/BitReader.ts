import { MediaParseError } from '../frame.js';

/**
 * MSB-first bit reader over a byte array, with the exp-Golomb codes H.264/HEVC parameter sets use.
 * Every read is bounds-checked: running off the end throws MediaParseError, never a RangeError.
 */
export class BitReader {
  private pos = 0;
  private readonly end: number;

  constructor(private readonly buf: Uint8Array) {
    this.end = buf.length * 8;
  }

  get bitsLeft(): number {
    return this.end - this.pos;
  }

  bit(): number {
    if (this.pos >= this.end) throw new MediaParseError('bitstream truncated');
    const b = (this.buf[this.pos >> 3]! >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  flag(): boolean {
    return this.bit() === 1;
  }

  /** Up to 32 bits, unsigned. */
  bits(n: number): number {
    if (n > this.end - this.pos) throw new MediaParseError('bitstream truncated');
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  skip(n: number): void {
    if (n > this.end - this.pos) throw new MediaParseError('bitstream truncated');
    this.pos += n;
  }

  /** ue(v). Values above 2^32 - 2 cannot occur in a valid parameter set, so longer prefixes are refused. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new MediaParseError('exp-Golomb code too long');
    }
    return zeros === 0 ? 0 : 2 ** zeros - 1 + this.bits(zeros);
  }

  /** se(v). */
  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/**
 * Removes emulation-prevention bytes (00 00 03 -> 00 00) from a NAL unit payload,
 * giving the raw byte sequence payload the bit reader expects.
 */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  let zeros = 0;
  let hasEscape = false;
  for (let i = 0; i < nal.length; i++) {
    if (zeros >= 2 && nal[i] === 3) {
      hasEscape = true;
      break;
    }
    zeros = nal[i] === 0 ? zeros + 1 : 0;
  }
  if (!hasEscape) return nal;
  const out = new Uint8Array(nal.length);
  let n = 0;
  zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const b = nal[i]!;
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}
