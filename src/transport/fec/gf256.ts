/**
 * Arithmetic in GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d, generator 2),
 * the field of most Reed-Solomon erasure codes. Tables are built once at load.
 */
const POLY = 0x11d;

export const EXP = new Uint8Array(512);
export const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= POLY;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}

/** MUL[(a << 8) | b] = a * b. 64 KiB; one row of 256 is the whole multiply-by-a table. */
export const MUL = new Uint8Array(65536);
for (let a = 1; a < 256; a++) {
  for (let b = 1; b < 256; b++) MUL[(a << 8) | b] = EXP[LOG[a]! + LOG[b]!]!;
}

export function gfMul(a: number, b: number): number {
  return MUL[((a & 255) << 8) | (b & 255)]!;
}

export function gfInv(a: number): number {
  if (a === 0) throw new RangeError('0 has no inverse in GF(256)');
  return EXP[255 - LOG[a]!]!;
}

/**
 * dst ^= c * src, the hot loop of encoding and decoding. c = 1 is a plain XOR; other
 * coefficients index one 256-entry row of MUL.
 */
export function mulAddRow(dst: Uint8Array, src: Uint8Array, c: number): void {
  if (c === 0) return;
  const n = dst.length;
  if (c === 1) {
    for (let i = 0; i < n; i++) dst[i]! ^= src[i]!;
    return;
  }
  const base = c << 8;
  const mul = MUL;
  let i = 0;
  for (const end = n - 3; i < end; i += 4) {
    dst[i]! ^= mul[base | src[i]!]!;
    dst[i + 1]! ^= mul[base | src[i + 1]!]!;
    dst[i + 2]! ^= mul[base | src[i + 2]!]!;
    dst[i + 3]! ^= mul[base | src[i + 3]!]!;
  }
  for (; i < n; i++) dst[i]! ^= mul[base | src[i]!]!;
}

/** Inverts a k x k matrix (row-major, length k*k) in place of a copy; undefined if singular. */
export function invert(m: Uint8Array, k: number): Uint8Array | undefined {
  const a = Uint8Array.from(m);
  const inv = new Uint8Array(k * k);
  for (let i = 0; i < k; i++) inv[i * k + i] = 1;
  for (let col = 0; col < k; col++) {
    let pivot = col;
    while (pivot < k && a[pivot * k + col] === 0) pivot++;
    if (pivot === k) return undefined;
    if (pivot !== col) {
      swapRows(a, k, pivot, col);
      swapRows(inv, k, pivot, col);
    }
    const scale = gfInv(a[col * k + col]!);
    for (let j = 0; j < k; j++) {
      a[col * k + j] = gfMul(a[col * k + j]!, scale);
      inv[col * k + j] = gfMul(inv[col * k + j]!, scale);
    }
    for (let r = 0; r < k; r++) {
      const f = a[r * k + col]!;
      if (r === col || f === 0) continue;
      for (let j = 0; j < k; j++) {
        a[r * k + j]! ^= gfMul(f, a[col * k + j]!);
        inv[r * k + j]! ^= gfMul(f, inv[col * k + j]!);
      }
    }
  }
  return inv;
}

function swapRows(m: Uint8Array, k: number, r1: number, r2: number): void {
  for (let j = 0; j < k; j++) {
    const t = m[r1 * k + j]!;
    m[r1 * k + j] = m[r2 * k + j]!;
    m[r2 * k + j] = t;
  }
}
