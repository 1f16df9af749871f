/**
 * The little of Ogg (RFC 3533) and Ogg Opus (RFC 7845) the transcoders need to talk to
 * ffmpeg through pipes: a writer that puts each Opus packet in a page of its own (so ffmpeg
 * reads it at once, nothing waits for a page to fill), and a reader that takes pages out of
 * ffmpeg's stdout. The reader treats its input as hostile (a broken ffmpeg is still input):
 * sync is searched, the CRC checked, sizes bounded.
 */
import { MediaParseError } from '../../media/frame.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

function crc(buf: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < buf.length; i++) c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ buf[i]!) & 0xff]!) >>> 0;
  return c;
}

/** One page holding one packet (at most 255 * 255 bytes). */
export function oggPage(packet: Uint8Array, granule: bigint, serial: number, seq: number, flags: number): Uint8Array {
  if (packet.length > 255 * 255 - 1) throw new MediaParseError('Ogg packet too large for one page');
  const lacing: number[] = [];
  let left = packet.length;
  while (left >= 255) {
    lacing.push(255);
    left -= 255;
  }
  lacing.push(left);
  const page = new Uint8Array(27 + lacing.length + packet.length);
  const v = new DataView(page.buffer);
  page.set([0x4f, 0x67, 0x67, 0x53, 0, flags]);
  v.setBigInt64(6, granule, true);
  v.setUint32(14, serial, true);
  v.setUint32(18, seq, true);
  page[26] = lacing.length;
  page.set(lacing, 27);
  page.set(packet, 27 + lacing.length);
  v.setUint32(22, crc(page), true);
  return page;
}

/** An OpusTags packet with no comments (RFC 7845 5.2), which must follow OpusHead. */
export function opusTags(): Uint8Array {
  const vendor = new TextEncoder().encode('tributary');
  const out = new Uint8Array(8 + 4 + vendor.length + 4);
  out.set(new TextEncoder().encode('OpusTags'));
  new DataView(out.buffer).setUint32(8, vendor.length, true);
  out.set(vendor, 12);
  return out;
}

/** Writes an Ogg Opus stream: headers first, then one page per packet. */
export class OggOpusWriter {
  private seq = 0;
  private readonly serial = 0x7472_6962;

  /** The first two pages (OpusHead, OpusTags). */
  headers(opusHead: Uint8Array): Uint8Array[] {
    return [oggPage(opusHead, 0n, this.serial, this.seq++, 2), oggPage(opusTags(), 0n, this.serial, this.seq++, 0)];
  }

  /** `granule` is the 48 kHz sample count at the end of this packet. */
  packet(data: Uint8Array, granule: bigint): Uint8Array {
    return oggPage(data, granule, this.serial, this.seq++, 0);
  }
}

export interface OggPacket {
  data: Uint8Array;
  /** Granule position of the page the packet ended on (-1 when it did not end there). */
  granule: bigint;
}

/** Pages above this are refused (ffmpeg writes a page per 20 ms, a few hundred bytes). */
const MAX_PENDING = 1 << 20;

/** Packets out of an Ogg byte stream (one logical stream). */
export class OggReader {
  private buf = new Uint8Array(0);
  private partial: Uint8Array[] = [];
  badPages = 0;

  push(chunk: Uint8Array): OggPacket[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const out: OggPacket[] = [];
    let pos = 0;
    for (;;) {
      const sync = indexOfOggS(joined, pos);
      if (sync < 0) {
        pos = Math.max(pos, joined.length - 3);
        break;
      }
      pos = sync;
      if (joined.length - pos < 27) break;
      const nseg = joined[pos + 26]!;
      if (joined.length - pos < 27 + nseg) break;
      let body = 0;
      for (let i = 0; i < nseg; i++) body += joined[pos + 27 + i]!;
      const size = 27 + nseg + body;
      if (joined.length - pos < size) break;
      const page = joined.slice(pos, pos + size);
      const want = new DataView(page.buffer).getUint32(22, true);
      page.fill(0, 22, 26);
      if (crc(page) !== want || page[4] !== 0) {
        this.badPages++;
        pos++;
        continue;
      }
      const granule = new DataView(page.buffer).getBigInt64(6, true);
      if ((page[5]! & 1) === 0) this.partial = []; // not a continuation: drop a dangling piece
      let at = 27 + nseg;
      let piece = at;
      for (let i = 0; i < nseg; i++) {
        const l = page[27 + i]!;
        at += l;
        if (l < 255) {
          this.partial.push(page.subarray(piece, at));
          out.push({ data: concat(this.partial), granule: i === nseg - 1 || !laterEnds(page, i, nseg) ? granule : -1n });
          this.partial = [];
          piece = at;
        }
      }
      if (piece < at) this.partial.push(page.subarray(piece, at));
      pos += size;
    }
    this.buf = joined.slice(pos);
    if (this.buf.length > MAX_PENDING) throw new MediaParseError('Ogg page larger than 1 MiB');
    return out;
  }
}

function laterEnds(page: Uint8Array, i: number, nseg: number): boolean {
  for (let j = i + 1; j < nseg; j++) if (page[27 + j]! < 255) return true;
  return false;
}

function indexOfOggS(b: Uint8Array, from: number): number {
  for (let i = from; i + 3 < b.length; i++) if (b[i] === 0x4f && b[i + 1] === 0x67 && b[i + 2] === 0x67 && b[i + 3] === 0x53) return i;
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!.slice();
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
