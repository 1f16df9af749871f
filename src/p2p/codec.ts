/**
 * The binary wire form of the P2P messages: one type byte, then the body. Every count and
 * length read off the wire is checked against a limit before anything is allocated for it, so
 * hostile input ends in a WireError (the caller drops the message and counts it), never in a
 * RangeError or a large allocation.
 *
 *   SliceInfo  = seq u32 | captureMs u32 | flags u8 (bit0 key) | size varint | digest (16)
 *   seq list   = count u8 | first u32 | (count-1) ascending deltas, varint, each >= 1
 *   Slice      = seq u32 | captureMs u32 | flags u8 (bit0 key, bit1 pushed) | length varint | payload
 *   BufferMap  = base u32 | length u8 | bits (length bytes)
 */
import { Reader, WireError, Writer, varintLen } from '../wire/buf.js';
import { Msg, type AnyMsg, type SliceInfo } from './messages.js';

export { WireError };

export const DIGEST_BYTES = 16;
export const MAX_SEQS = 64;
export const MAX_INFOS = 256;
export const MAX_IDS = 64;
export const MAX_BITMAP_BYTES = 64;
/** Far above a keyframe at 20 Mbit/s; a bigger slice is a hostile one. */
export const MAX_SLICE_BYTES = 1 << 20;

function infoSize(i: SliceInfo): number {
  return 9 + varintLen(i.size) + DIGEST_BYTES;
}

function seqListSize(seqs: number[]): number {
  if (seqs.length === 0) return 1;
  const s = sortedUnique(seqs);
  let n = 5;
  for (let i = 1; i < s.length; i++) n += varintLen(s[i]! - s[i - 1]!);
  return n;
}

function sortedUnique(seqs: number[]): number[] {
  const s = [...seqs].sort((a, b) => a - b);
  return s.filter((v, i) => i === 0 || v !== s[i - 1]);
}

/** Exact bytes `encode(m)` produces, computed without encoding (the simulator counts these). */
export function encodedSize(m: AnyMsg): number {
  switch (m.t) {
    case Msg.Join: return 1 + 1 + 1 + 4 + 1;
    case Msg.Report: return 1 + 4 + 2 + 1 + 6 * m.parents.length;
    case Msg.Compensate: case Msg.Request: case Msg.NotHave: case Msg.Refused: return 1 + seqListSize(m.seqs);
    case Msg.NeedParent: return 1 + 1 + 4 + 1;
    case Msg.BadPeer: return 1 + 4 + 1;
    case Msg.Leave: case Msg.Bye: return 1;
    case Msg.NeedNeighbours: return 2;
    case Msg.Welcome: {
      let n = 1 + 4 + 1 + 2 + 1 + 4 * m.neighbours.length + 1 + 4 * m.parents.length;
      for (const i of m.index) n += infoSize(i);
      return n;
    }
    case Msg.Digests: {
      let n = 2;
      for (const i of m.infos) n += infoSize(i);
      return n;
    }
    case Msg.Parent: return 1 + 1 + 4;
    case Msg.Role: return 1 + 4;
    case Msg.Neighbours: return 2 + 4 * m.ids.length;
    case Msg.Hello: return 2;
    case Msg.BufferMap: return 1 + 4 + 1 + m.bits.length;
    case Msg.Subscribe: case Msg.SubAck: return 1 + 4;
    case Msg.Slice: return 1 + 9 + varintLen(m.payload.length) + m.payload.length;
  }
}

export function encode(m: AnyMsg): Uint8Array {
  const w = new Writer(new Uint8Array(encodedSize(m)));
  w.u8(m.t);
  switch (m.t) {
    case Msg.Join:
      w.u8(m.region).u8(m.isp).u32(m.uploadKbps).u8((m.reachable ? 1 : 0) | (m.nominate ? 2 : 0));
      break;
    case Msg.Report:
      count(m.parents.length, MAX_IDS);
      w.u32(m.backlogMs).u16(m.continuity).u8(m.parents.length);
      for (const p of m.parents) w.u32(p.id).u16(p.onTime);
      break;
    case Msg.Compensate: case Msg.Request: case Msg.NotHave: case Msg.Refused:
      writeSeqs(w, m.seqs);
      break;
    case Msg.NeedParent: w.u8(m.substream).u32(m.not).u8(m.late ? 1 : 0); break;
    case Msg.BadPeer: w.u32(m.id).u8(m.reason); break;
    case Msg.Leave: case Msg.Bye: break;
    case Msg.NeedNeighbours: w.u8(m.count); break;
    case Msg.Welcome:
      count(m.index.length, MAX_INFOS);
      count(m.neighbours.length, MAX_IDS);
      count(m.parents.length, 32);
      w.u32(m.id).u8(m.substreams).u16(m.index.length);
      for (const i of m.index) writeInfo(w, i);
      w.u8(m.neighbours.length);
      for (const id of m.neighbours) w.u32(id);
      w.u8(m.parents.length);
      for (const id of m.parents) w.u32(id);
      break;
    case Msg.Digests:
      count(m.infos.length, 255);
      w.u8(m.infos.length);
      for (const i of m.infos) writeInfo(w, i);
      break;
    case Msg.Parent: w.u8(m.substream).u32(m.id); break;
    case Msg.Role: w.u32(m.mask); break;
    case Msg.Neighbours:
      count(m.ids.length, MAX_IDS);
      w.u8(m.ids.length);
      for (const id of m.ids) w.u32(id);
      break;
    case Msg.Hello: w.u8(m.ack ? 1 : 0); break;
    case Msg.BufferMap:
      count(m.bits.length, MAX_BITMAP_BYTES);
      w.u32(m.base).u8(m.bits.length).bytes(m.bits);
      break;
    case Msg.Subscribe: case Msg.SubAck: w.u32(m.mask); break;
    case Msg.Slice:
      if (m.payload.length > MAX_SLICE_BYTES) throw new WireError('slice too big');
      w.u32(m.seq).u32(m.captureMs).u8((m.key ? 1 : 0) | (m.pushed ? 2 : 0)).varint(m.payload.length).bytes(m.payload);
      break;
  }
  return w.buf;
}

/** Decodes one message; throws WireError on anything malformed, oversized or trailing. */
export function decode(buf: Uint8Array): AnyMsg {
  const r = new Reader(buf);
  const t = r.u8();
  let m: AnyMsg;
  switch (t) {
    case Msg.Join: {
      const region = r.u8(), isp = r.u8(), uploadKbps = r.u32(), f = r.u8();
      m = { t, region, isp, uploadKbps, reachable: (f & 1) !== 0, nominate: (f & 2) !== 0 };
      break;
    }
    case Msg.Report: {
      const backlogMs = r.u32(), continuity = r.u16(), n = r.u8();
      count(n, MAX_IDS);
      r.need(6 * n);
      const parents = [];
      for (let i = 0; i < n; i++) parents.push({ id: r.u32(), onTime: r.u16() });
      m = { t, backlogMs, continuity, parents };
      break;
    }
    case Msg.Compensate: case Msg.Request: case Msg.NotHave: case Msg.Refused:
      m = { t, seqs: readSeqs(r) };
      break;
    case Msg.NeedParent: m = { t, substream: r.u8(), not: r.u32(), late: (r.u8() & 1) !== 0 }; break;
    case Msg.BadPeer: m = { t, id: r.u32(), reason: r.u8() }; break;
    case Msg.Leave: case Msg.Bye: m = { t }; break;
    case Msg.NeedNeighbours: m = { t, count: r.u8() }; break;
    case Msg.Welcome: {
      const id = r.u32(), substreams = r.u8(), n = r.u16();
      count(n, MAX_INFOS);
      const index = [];
      for (let i = 0; i < n; i++) index.push(readInfo(r));
      const neighbours = readIds(r, MAX_IDS);
      const parents = readIds(r, 32);
      m = { t, id, substreams, index, neighbours, parents };
      break;
    }
    case Msg.Digests: {
      const n = r.u8();
      const infos = [];
      for (let i = 0; i < n; i++) infos.push(readInfo(r));
      m = { t, infos };
      break;
    }
    case Msg.Parent: m = { t, substream: r.u8(), id: r.u32() }; break;
    case Msg.Role: m = { t, mask: r.u32() }; break;
    case Msg.Neighbours: m = { t, ids: readIds(r, MAX_IDS) }; break;
    case Msg.Hello: m = { t, ack: (r.u8() & 1) !== 0 }; break;
    case Msg.BufferMap: {
      const base = r.u32(), n = r.u8();
      count(n, MAX_BITMAP_BYTES);
      m = { t, base, bits: r.bytes(n).slice() };
      break;
    }
    case Msg.Subscribe: case Msg.SubAck: m = { t, mask: r.u32() }; break;
    case Msg.Slice: {
      const seq = r.u32(), captureMs = r.u32(), f = r.u8(), len = r.varint();
      if (len > MAX_SLICE_BYTES) throw new WireError('slice too big');
      m = { t, seq, captureMs, key: (f & 1) !== 0, pushed: (f & 2) !== 0, payload: r.bytes(len).slice() };
      break;
    }
    default:
      throw new WireError('unknown type');
  }
  if (r.left !== 0) throw new WireError('trailing bytes');
  return m;
}

function count(n: number, max: number): void {
  if (n > max) throw new WireError('too many');
}

function writeInfo(w: Writer, i: SliceInfo): void {
  if (i.digest.length !== DIGEST_BYTES) throw new WireError('digest length');
  w.u32(i.seq).u32(i.captureMs).u8(i.key ? 1 : 0).varint(i.size).bytes(i.digest);
}

function readInfo(r: Reader): SliceInfo {
  const seq = r.u32(), captureMs = r.u32(), f = r.u8(), size = r.varint();
  if (size > MAX_SLICE_BYTES) throw new WireError('slice too big');
  return { seq, captureMs, key: (f & 1) !== 0, size, digest: r.bytes(DIGEST_BYTES).slice() };
}

function writeSeqs(w: Writer, seqs: number[]): void {
  const s = sortedUnique(seqs);
  count(s.length, MAX_SEQS);
  w.u8(s.length);
  if (s.length === 0) return;
  w.u32(s[0]!);
  for (let i = 1; i < s.length; i++) w.varint(s[i]! - s[i - 1]!);
}

function readSeqs(r: Reader): number[] {
  const n = r.u8();
  count(n, MAX_SEQS);
  if (n === 0) return [];
  const out = [r.u32()];
  for (let i = 1; i < n; i++) {
    const d = r.varint();
    if (d === 0) throw new WireError('seqs not ascending');
    const v = out[i - 1]! + d;
    if (v > 0xffffffff) throw new WireError('seq overflow');
    out.push(v);
  }
  return out;
}

function readIds(r: Reader, max: number): number[] {
  const n = r.u8();
  count(n, max);
  r.need(4 * n);
  const ids = [];
  for (let i = 0; i < n; i++) ids.push(r.u32());
  return ids;
}
