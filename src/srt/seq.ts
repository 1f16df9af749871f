/**
 * SRT sequence numbers are 31 bits and wrap; message numbers are 26 bits. Every comparison
 * goes through these helpers so a session that crosses the wrap keeps its order.
 */
export const SEQ_MAX = 0x7fffffff;
const SEQ_MOD = 0x80000000;
const HALF = 0x40000000;

/** b - a in sequence space: positive when b is after a (valid for distances below 2^30). */
export function seqDiff(a: number, b: number): number {
  let d = (b - a) % SEQ_MOD;
  if (d < 0) d += SEQ_MOD;
  return d >= HALF ? d - SEQ_MOD : d;
}

export function seqAdd(a: number, n: number): number {
  let s = (a + n) % SEQ_MOD;
  if (s < 0) s += SEQ_MOD;
  return s;
}

export const MSGNO_MAX = 0x3ffffff;

export function nextMsgNo(m: number): number {
  return m >= MSGNO_MAX ? 1 : m + 1;
}
