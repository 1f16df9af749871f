/**
 * The sending half of FEC: groups first transmissions of one class (audio or video), kept
 * apart by whether a resend can still reach them, into blocks and produces their repair frames
 * when a block closes: at the end of a message once the block holds `audioK` audio or `videoK`
 * video sources, when its repairs must leave for its first source's deadline (`closeBy`), or
 * once it is older than its class's age limit.
 *
 * Calling rules: `assign` before encoding a DATA frame (it gives the group and index to put in
 * it), `addSource` with the frame's encoding, `endMessage` when a message's last fragment
 * first went out (FEC'd or not), `closeDue` when `nextDue` has come; repairs come back from
 * `endMessage` and `closeDue`.
 */
import { ReedSolomonCode, XorCode } from './fec/index.js';
import type { FecCode } from './fec/index.js';
import { FEC_CODE_RS, FEC_CODE_XOR, MAX_FEC_K, type FecRepairFrame } from '../wire/fecRepair.js';
import type { FecClass, FecPolicy } from './FecPolicy.js';

const FRAME_INTERVAL_MS = 35;

const NONE: readonly FecRepairFrame[] = Object.freeze([]);

interface Block {
  key: string;
  cls: 'audio' | 'video';
  group: number;
  sources: Uint8Array[];
  openedAt: number;
  keyframe: boolean;
  /** Fewest retransmission rounds any of its sources had time for (the block is sized for that one). */
  rounds: number;
  /** Latest time its repairs may leave and still reach the receiver before its first deadline. */
  closeBy: number;
}

export const xorCode = new XorCode();
export const rsCode = new ReedSolomonCode();

export class FecEncoder {
  private nextGroup = 1;
  /**
   * Open blocks by class and by whether their sources have time for a resend: those that do
   * need little or no FEC, those that do not need it all, and one block mixing them was sized
   * for its most exposed source, paying full FEC for the rest.
   */
  private blocks = new Map<string, Block>();
  /** The block the last `assign` of each class chose (addSource and endMessage use it). */
  private current = new Map<'audio' | 'video', Block>();
  repairsMade = 0;

  constructor(private readonly policy: FecPolicy, private readonly videoK = 48, private readonly maxAgeMs = 200, private readonly audioK = 6, private readonly audioMaxAgeMs = 100) {}

  /** Group and index for the next source of this class, or undefined if FEC is off for it now. */
  assign(now: number, cls: 'audio' | 'video', lossRate: number, rounds = 0, closeBy = Infinity): { group: number; index: number } | undefined {
    const key = rounds > 0 ? (cls === 'audio' ? 'audio+' : 'video+') : cls;
    this.current.delete(cls);
    if (this.policy.repairCount(cls === 'audio' ? 1 : this.videoK, cls === 'audio' ? 'audio' : 'keyframe', lossRate, rounds) === 0) {
      if (!this.blocks.has(key)) return undefined;
    }
    let b = this.blocks.get(key);
    if (!b) {
      b = { key, cls, group: this.nextGroup, sources: [], openedAt: now, keyframe: false, rounds, closeBy };
      this.nextGroup = (this.nextGroup + 1) >>> 0 || 1;
      this.blocks.set(key, b);
    }
    if (b.sources.length >= MAX_FEC_K) return undefined;
    b.rounds = Math.min(b.rounds, rounds);
    b.closeBy = Math.min(b.closeBy, closeBy);
    this.current.set(cls, b);
    this.midMessage.add(cls);
    return { group: b.group, index: b.sources.length };
  }

  addSource(cls: 'audio' | 'video', frameBytes: Uint8Array, keyframe: boolean): void {
    const b = this.current.get(cls);
    if (!b) return;
    b.sources.push(frameBytes.slice());
    if (keyframe) b.keyframe = true;
  }

  /** Closes the current block of the class if it is due, and any other of the class past its age. */
  endMessage(now: number, cls: 'audio' | 'video', lossRate: number): readonly FecRepairFrame[] {
    let out: FecRepairFrame[] | undefined;
    const cur = this.current.get(cls);
    this.midMessage.delete(cls);
    // (Deleting the entry being visited is safe in a Map's iteration; this runs per message, so no copies.)
    for (const b of this.blocks.values()) {
      if (b.cls !== cls || b.sources.length === 0) continue;
      // Audio packets are small and come every ~20 ms: one repair per packet doubled them on
      // the wire; a group of `audioK` keeps the repair within ~100 ms of its first packet.
      // A keyframe's block stays open for the frames behind it while its deadline allows: they
      // wait out its queue too, and one block of 40 needs fewer repairs than 26 and 4 apart.
      const full = b === cur && (cls === 'audio' ? b.sources.length >= this.audioK : b.sources.length >= this.videoK);
      if (full || now >= this.dueAt(b) || b.sources.length >= MAX_FEC_K) (out ??= []).push(...this.close(b, lossRate));
    }
    return out ?? NONE;
  }

  /**
   * Closes the blocks that are due when no message of their class comes to close them: a
   * block of sources out of a resend's reach stayed open behind messages that needed no FEC
   * and its repairs left two seconds late.
   */
  closeDue(now: number, audioLoss: number, videoLoss: number): readonly FecRepairFrame[] {
    let out: FecRepairFrame[] | undefined;
    for (const b of this.blocks.values()) {
      if (b.sources.length === 0 || now < this.dueAt(b) || this.filling(b)) continue;
      (out ??= []).push(...this.close(b, b.cls === 'audio' ? audioLoss : videoLoss));
    }
    return out ?? NONE;
  }

  /** A message is being cut into this block: it closes at the message's end (one frame, one block). */
  private filling(b: Block): boolean {
    return this.current.get(b.cls) === b && this.midMessage.has(b.cls);
  }

  private readonly midMessage = new Set<'audio' | 'video'>();

  /** When the next open block is due (closeDue has work), or Infinity. */
  nextDue(): number {
    let t = Infinity;
    for (const b of this.blocks.values()) if (b.sources.length > 0 && !this.filling(b)) t = Math.min(t, this.dueAt(b));
    return t;
  }

  /**
   * A block may grow (fewer repairs per source for the same residual loss) while its first
   * source can still be repaired in time (the next message is about a frame interval away),
   * and up to its class's age limit.
   */
  private dueAt(b: Block): number {
    return Math.min(b.closeBy - FRAME_INTERVAL_MS, b.openedAt + (b.cls === 'audio' ? this.audioMaxAgeMs : this.maxAgeMs));
  }

  private close(b: Block, lossRate: number): FecRepairFrame[] {
    this.blocks.delete(b.key);
    const cls = b.cls;
    if (this.current.get(cls) === b) this.current.delete(cls);
    const k = b.sources.length;
    const fc: FecClass = cls === 'audio' ? 'audio' : b.keyframe ? 'keyframe' : 'video';
    const r = Math.min(254 - k, this.policy.repairCount(k, fc, lossRate, b.rounds));
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
