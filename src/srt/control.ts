/**
 * Control Information Fields of ACK, NAK and DROPREQ (draft-sharabayko-srt 3.2.4-3.2.9).
 * Parsers bound every read and every list: a hostile NAK cannot make us walk more entries
 * than fit in one datagram.
 */
import { SrtParseError } from './packet.js';
import { seqAdd, seqDiff } from './seq.js';

/** Full ACK: seven 32-bit fields; a light ACK carries only the first. */
export interface AckInfo {
  /** The sequence number after the last packet received in order (all before it are settled). */
  lastAckSeq: number;
  rttUs?: number;
  rttVarUs?: number;
  availableBuffer?: number;
  packetsPerSecond?: number;
  capacityPps?: number;
  bytesPerSecond?: number;
}

export function buildAckCif(a: Required<AckInfo>): Uint8Array {
  const out = new Uint8Array(28);
  const v = new DataView(out.buffer);
  v.setUint32(0, a.lastAckSeq & 0x7fffffff);
  v.setUint32(4, a.rttUs >>> 0);
  v.setUint32(8, a.rttVarUs >>> 0);
  v.setUint32(12, a.availableBuffer >>> 0);
  v.setUint32(16, a.packetsPerSecond >>> 0);
  v.setUint32(20, a.capacityPps >>> 0);
  v.setUint32(24, a.bytesPerSecond >>> 0);
  return out;
}

export function parseAckCif(cif: Uint8Array): AckInfo {
  if (cif.length < 4) throw new SrtParseError('ACK without its sequence number');
  const v = new DataView(cif.buffer, cif.byteOffset, cif.byteLength);
  const a: AckInfo = { lastAckSeq: v.getUint32(0) & 0x7fffffff };
  if (cif.length >= 16) {
    a.rttUs = v.getUint32(4);
    a.rttVarUs = v.getUint32(8);
    a.availableBuffer = v.getUint32(12);
  }
  if (cif.length >= 28) {
    a.packetsPerSecond = v.getUint32(16);
    a.capacityPps = v.getUint32(20);
    a.bytesPerSecond = v.getUint32(24);
  }
  return a;
}

/** A NAK's loss list as [first, last] ranges (inclusive). */
export type SeqRange = [first: number, last: number];

/** Most loss-list words one NAK carries (fits a 1500-byte datagram). */
export const MAX_NAK_WORDS = 360;

/** Encodes ranges: a single number with the top bit clear, a range as first|0x80000000, last. */
export function buildNakCif(ranges: readonly SeqRange[]): Uint8Array {
  const words: number[] = [];
  for (const [a, b] of ranges) {
    if (words.length + 2 > MAX_NAK_WORDS) break;
    if (a === b) words.push(a);
    else words.push((a | 0x80000000) >>> 0, b);
  }
  const out = new Uint8Array(words.length * 4);
  const v = new DataView(out.buffer);
  words.forEach((w, i) => v.setUint32(i * 4, w));
  return out;
}

/** At most `maxPackets` sequence numbers in all (a lying range cannot ask for 2^31 resends). */
export function parseNakCif(cif: Uint8Array, maxPackets = 8192): SeqRange[] {
  const v = new DataView(cif.buffer, cif.byteOffset, cif.byteLength);
  const words = Math.min(Math.floor(cif.length / 4), MAX_NAK_WORDS * 4);
  const out: SeqRange[] = [];
  let total = 0;
  for (let i = 0; i < words; i++) {
    const w = v.getUint32(i * 4);
    let range: SeqRange;
    if (w & 0x80000000) {
      if (i + 1 >= words) throw new SrtParseError('NAK range without its last number');
      const last = v.getUint32(++i * 4) & 0x7fffffff;
      const first = w & 0x7fffffff;
      const n = seqDiff(first, last);
      if (n < 0) throw new SrtParseError('NAK range goes backwards');
      range = [first, n + 1 > maxPackets - total ? seqAdd(first, maxPackets - total - 1) : last];
    } else range = [w, w];
    out.push(range);
    total += seqDiff(range[0], range[1]) + 1;
    if (total >= maxPackets) break;
  }
  return out;
}

/** DROPREQ: the sender gave up on packets first..last (inclusive). */
export function parseDropReqCif(cif: Uint8Array): SeqRange {
  if (cif.length < 8) throw new SrtParseError('DROPREQ shorter than 8 bytes');
  const v = new DataView(cif.buffer, cif.byteOffset, cif.byteLength);
  return [v.getUint32(0) & 0x7fffffff, v.getUint32(4) & 0x7fffffff];
}

/** Sorted sequence numbers -> ranges. */
export function toRanges(seqs: readonly number[]): SeqRange[] {
  const out: SeqRange[] = [];
  for (const s of seqs) {
    const last = out[out.length - 1];
    if (last && seqAdd(last[1], 1) === s) last[1] = s;
    else out.push([s, s]);
  }
  return out;
}
