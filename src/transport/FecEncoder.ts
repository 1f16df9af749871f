/**
 * The sending half of FEC: groups consecutive first transmissions of one class (audio or
 * video) into blocks and produces their repair frames when a block closes: at the end of a
 * message once the block holds `audioK` audio or `videoK` video sources, at the end of a
 * keyframe, or once it is older than `maxAgeMs`.
 *
 * Calling rules: `assign` before encoding a DATA frame (it gives the group and index to put in
 * it), `addSource` with the frame's encoding, `endMessage` when the message's last fragment
 * went out; repairs come back from `endMessage`.
 */
import { ReedSolomonCode, XorCode } from './fec/index.js';
import type { FecCode } from './fec/index.js';
import { FEC_CODE_RS, FEC_CODE_XOR, MAX_FEC_K, type FecRepairFrame } from '../wire/fecRepair.js';
import type { FecClass, FecPolicy } from './FecPolicy.js';

interface Block {
  group: number;
  sources: Uint8Array[];
  openedAt: number;
  keyframe: boolean;
}

export const xorCode = new XorCode();
export const rsCode = new ReedSolomonCode();

export class FecEncoder {
  private nextGroup = 1;
  private blocks = new Map<'audio' | 'video', Block>();
  repairsMade = 0;

  constructor(private readonly policy: FecPolicy, private readonly videoK = 10, private readonly maxAgeMs = 40, private readonly audioK = 3) {}

  /** Group and index for the next source of this class, or undefined if FEC is off for it now. */
  assign(now: number, cls: 'audio' | 'video', lossRate: number, rounds = 0): { group: number; index: number } | undefined {
    if (this.policy.repairCount(cls === 'audio' ? 1 : this.videoK, cls === 'audio' ? 'audio' : 'keyframe', lossRate, rounds) === 0) {
      if (!this.blocks.has(cls)) return undefined;
    }
    let b = this.blocks.get(cls);
    if (!b) {
      b = { group: this.nextGroup, sources: [], openedAt: now, keyframe: false };
      this.nextGroup = (this.nextGroup + 1) >>> 0 || 1;
      this.blocks.set(cls, b);
    }
    if (b.sources.length >= MAX_FEC_K) return undefined;
    return { group: b.group, index: b.sources.length };
  }

  addSource(cls: 'audio' | 'video', frameBytes: Uint8Array, keyframe: boolean): void {
    const b = this.blocks.get(cls);
    if (!b) return;
    b.sources.push(frameBytes.slice());
    if (keyframe) b.keyframe = true;
  }

  endMessage(now: number, cls: 'audio' | 'video', keyframe: boolean, lossRate: number, rounds = 0): FecRepairFrame[] {
    const b = this.blocks.get(cls);
    if (!b || b.sources.length === 0) return [];
    // Audio packets are small and come every ~20 ms: one repair per packet doubled them on the
    // wire; a group of `audioK` keeps the repair within ~40 ms of its first packet.
    const full = cls === 'audio' ? b.sources.length >= this.audioK : keyframe || b.sources.length >= this.videoK;
    const close = full || now - b.openedAt >= this.maxAgeMs || b.sources.length >= MAX_FEC_K;
    if (!close) return [];
    this.blocks.delete(cls);
    const k = b.sources.length;
    const fc: FecClass = cls === 'audio' ? 'audio' : b.keyframe ? 'keyframe' : 'video';
    const r = Math.min(254 - k, this.policy.repairCount(k, fc, lossRate, rounds));
    if (r <= 0) return [];
    const code: FecCode = r === 1 ? xorCode : rsCode;
    let symLen = 0;
    for (const s of b.sources) symLen = Math.max(symLen, s.length + 2);
    const padded = b.sources.map((s) => {
      const p = new Uint8Array(symLen);
      p[0] = s.length >>> 8;
      p[1] = s.length & 0xff;
      p.set(s, 2);
      return p;
    });
    const repairs = code.encode(padded, r);
    this.repairsMade += r;
    return repairs.map((symbol, j) => ({
      kind: 'fec' as const,
      group: b.group,
      code: r === 1 ? FEC_CODE_XOR : FEC_CODE_RS,
      k,
      n: k + r,
      index: k + j,
      symbol,
    }));
  }
}
