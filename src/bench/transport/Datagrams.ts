/**
 * The bench's own framing for implementations that carry plain datagrams (SRT): each
 * datagram carries frame id, index, count and capture time so the receiver can tell when a
 * frame is complete. 1316 bytes in all, SRT's live payload size (7 TS packets).
 */
export const DATAGRAM_BYTES = 1316;
export const HEADER_BYTES = 18;
const MAGIC = 0x5442; // "TB"

export function cutFrame(id: number, size: number, capture: number): Buffer[] {
  const body = DATAGRAM_BYTES - HEADER_BYTES;
  const count = Math.max(1, Math.ceil(size / body));
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const len = Math.min(body, size - i * body);
    const b = Buffer.alloc(HEADER_BYTES + Math.max(0, len));
    b.writeUInt16BE(MAGIC, 0);
    b.writeUInt32BE(id >>> 0, 2);
    b.writeUInt16BE(i, 6);
    b.writeUInt16BE(count, 8);
    b.writeDoubleBE(capture, 10);
    out.push(b);
  }
  return out;
}

export interface DatagramHeader {
  id: number;
  index: number;
  count: number;
  capture: number;
}

/** Parses a bench datagram; undefined for anything else (never throws: it comes off a socket). */
export function parseDatagram(b: Uint8Array): DatagramHeader | undefined {
  if (b.length < HEADER_BYTES) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  if (v.getUint16(0) !== MAGIC) return undefined;
  const index = v.getUint16(6);
  const count = v.getUint16(8);
  if (count === 0 || index >= count) return undefined;
  return { id: v.getUint32(2), index, count, capture: v.getFloat64(10) };
}

/** Tracks which datagrams of each frame arrived and when each frame became complete. */
export class FrameAssembler {
  readonly complete = new Map<number, number>();
  private readonly parts = new Map<number, Set<number>>();
  invalid = 0;

  onDatagram(now: number, data: Uint8Array): void {
    const h = parseDatagram(data);
    if (!h) {
      this.invalid++;
      return;
    }
    if (this.complete.has(h.id)) return;
    let got = this.parts.get(h.id);
    if (!got) {
      if (this.parts.size > 100_000) return;
      got = new Set();
      this.parts.set(h.id, got);
    }
    got.add(h.index);
    if (got.size === h.count) {
      this.complete.set(h.id, now);
      this.parts.delete(h.id);
    }
  }
}
