/**
 * Writing ISO BMFF boxes (ISO/IEC 14496-12). A box is built from its already-serialized
 * children, so sizes are known when the header is written; init segments and fragments are
 * a few kilobytes of headers, so the extra copies are cheap next to the media they frame.
 */

export type Part = Uint8Array | readonly number[];

function fourcc(type: string): number[] {
  if (type.length !== 4) throw new Error(`box type must be 4 characters: ${type}`);
  return [type.charCodeAt(0), type.charCodeAt(1), type.charCodeAt(2), type.charCodeAt(3)];
}

/** A box: 32-bit size, four-character type, then the parts in order. */
export function box(type: string, ...parts: Part[]): Uint8Array {
  let size = 8;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  writeU32(out, 0, size);
  out.set(fourcc(type), 4);
  let pos = 8;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** A full box: a box whose payload starts with a version byte and 24 bits of flags. */
export function fullBox(type: string, version: number, flags: number, ...parts: Part[]): Uint8Array {
  return box(type, [version & 0xff, (flags >>> 16) & 0xff, (flags >>> 8) & 0xff, flags & 0xff], ...parts);
}

export function writeU32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = (v >>> 24) & 0xff;
  buf[pos + 1] = (v >>> 16) & 0xff;
  buf[pos + 2] = (v >>> 8) & 0xff;
  buf[pos + 3] = v & 0xff;
}

export const u8 = (v: number): number[] => [v & 0xff];
export const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
export const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
/** 64-bit unsigned from a non-negative safe integer (decode times in a 90 kHz timescale overflow 32 bits after 13 h). */
export function u64(v: number): number[] {
  const hi = Math.floor(v / 0x100000000);
  return [...u32(hi), ...u32(v >>> 0)];
}
export const zeros = (n: number): number[] => new Array<number>(n).fill(0);
export function ascii(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0x7f);
  return out;
}
