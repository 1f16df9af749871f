/**
 * FEC_REPAIR: one repair symbol of an FEC group. A group's source symbols are DATA frames
 * carrying the F flag with the same group; symbol i (0..k-1) is the source DATA frame's
 * whole encoding prefixed by its length (16 bits), zero-padded to the group's symbol length.
 * Repairs have indices k..n-1.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  type = 0x05  |                FEC group (32) ...             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | ... group     |   code (8)    |    k (8)      |    n (8)      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  index (8)    |       symbol length (16)      | symbol ...    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * code: 0 XOR parity (n = k + 1), 1 Reed-Solomon over GF(256) (n <= 255).
 */
import { Reader, WireError, Writer } from './buf.js';
import { FrameType } from './frameType.js';

export const FEC_CODE_XOR = 0;
export const FEC_CODE_RS = 1;
export const FEC_REPAIR_OVERHEAD = 11;
export const MAX_FEC_K = 64;

export interface FecRepairFrame {
  kind: 'fec';
  group: number;
  code: number;
  k: number;
  n: number;
  index: number;
  symbol: Uint8Array;
}

export function encodeFecRepair(w: Writer, f: FecRepairFrame): void {
  w.u8(FrameType.FEC_REPAIR).u32(f.group).u8(f.code).u8(f.k).u8(f.n).u8(f.index).u16(f.symbol.length).bytes(f.symbol);
}

export function decodeFecRepair(r: Reader): FecRepairFrame {
  const group = r.u32();
  const code = r.u8();
  const k = r.u8();
  const n = r.u8();
  const index = r.u8();
  if (code > FEC_CODE_RS || k === 0 || k > MAX_FEC_K || n <= k || index < k || index >= n) throw new WireError('bad-fec');
  if (code === FEC_CODE_XOR && n !== k + 1) throw new WireError('bad-fec');
  const len = r.u16();
  return { kind: 'fec', group, code, k, n, index, symbol: r.bytes(len) };
}
