/**
 * Where FEC meets the session. Sender: which first transmissions join a FEC block (deadline
 * streams, audio and video), the encoded frames the blocks are computed over, and the repair
 * frames that closing blocks yield (sent before the next fragment). Receiver: protected DATA
 * frames and FEC_REPAIR frames go to the decoder; what it recovers is delivered as DATA.
 */
import { Reader, Writer } from '../../wire/buf.js';
import { MAX_DATAGRAM } from '../../wire/header.js';
import { DATA_FLAG_FEC, decodeData, encodeData, isDataType, type DataFrame } from '../../wire/data.js';
import type { FecRepairFrame } from '../../wire/fecRepair.js';
import { BinomialFecPolicy, type FecPolicy } from '../FecPolicy.js';
import { FecEncoder } from '../FecEncoder.js';
import { FecDecoder } from '../FecDecoder.js';
import type { OutFragment, OutMessage } from '../SendQueue.js';
import type { SessionState } from './SessionState.js';

/** A FEC block's repairs leave at least this long before its first source's deadline less the one-way delay. */
const FEC_CLOSE_MARGIN_MS = 60;
/** A FEC_REPAIR frame's bytes besides its symbol. */
export const FEC_REPAIR_OVERHEAD = 11;

export class FecHooks {
  private readonly enc: FecEncoder | undefined;
  private readonly dec = new FecDecoder();
  private readonly repairs: { frame: FecRepairFrame; priority: number }[] = [];
  private readonly scratch = new Uint8Array(MAX_DATAGRAM);

  /** `rounds` says how many resend rounds a message may still count on (RepairPlanner.rounds). */
  constructor(private readonly s: SessionState, policy: FecPolicy | undefined, private readonly rounds: (now: number, m: OutMessage) => number) {
    this.enc = s.o.fec ? new FecEncoder(policy ?? (s.bond === 'single' ? new BinomialFecPolicy() : new BinomialFecPolicy({ audio: 1e-3, keyframe: 1e-3, video: 1e-2 }))) : undefined;
  }

  get recovered(): number {
    return this.dec.recovered;
  }

  /** When the encoder must close a block by its deadline (Infinity without FEC). */
  nextDue(): number {
    return this.enc ? this.enc.nextDue() : Infinity;
  }

  /** Closes the blocks that are due now; their repairs queue ahead of media. */
  closeDue(now: number): void {
    const s = this.s;
    if (this.enc && now >= this.enc.nextDue()) {
      for (const frame of this.enc.closeDue(now, s.repair.loss, s.repair.fecLoss(now, s.primaryPath(), 'video'))) this.repairs.push({ frame, priority: 0 });
    }
  }

  get hasRepair(): boolean {
    return this.repairs.length > 0;
  }

  /** Wire size of the next repair frame. */
  nextRepairSize(): number {
    return this.repairs[0]!.frame.symbol.length + FEC_REPAIR_OVERHEAD;
  }

  /** Repairs too big for the smallest media path are dropped (they could never leave). */
  dropOversized(maxRoom: number): void {
    while (this.repairs.length && this.repairs[0]!.frame.symbol.length + FEC_REPAIR_OVERHEAD > maxRoom) this.repairs.shift();
  }

  takeRepair(): FecRepairFrame {
    return this.repairs.shift()!.frame;
  }

  /** A FEC block for this first transmission of a fragment, if it joins one (only a message's newest fragment, on deadline media streams). */
  assign(now: number, fr: OutFragment, firstCopy: boolean): { group: number; index: number } | undefined {
    const s = this.s;
    const m = fr.msg;
    const cls = m.stream.options.class;
    if (!this.enc || !firstCopy || cls === 'control' || m.stream.options.reliability !== 'deadline' || fr.index + 1 !== m.next) return undefined;
    const dl = m.meta.deadline;
    const path = s.primaryPath();
    const closeBy = dl === undefined ? Infinity : dl - s.repair.oneWayMs(path, s.lastPoll) - FEC_CLOSE_MARGIN_MS;
    return this.enc.assign(now, cls, s.repair.loss, (m.fecRounds ??= this.rounds(now, m)), closeBy);
  }

  /** After a DATA frame left: a protected one is a block's source; a message's last first transmission ends it for FEC. */
  afterSent(now: number, fr: OutFragment, f: DataFrame, firstCopy: boolean): void {
    const cls = fr.msg.stream.options.class;
    if (!this.enc || cls === 'control') return;
    if (f.flags & DATA_FLAG_FEC) {
      const w = new Writer(this.scratch);
      encodeData(w, f);
      this.enc.addSource(cls, this.scratch.subarray(0, w.pos), !!fr.msg.meta.keyframe);
    }
    // A message's last first transmission ends it for FEC, protected or not: that closes the
    // blocks that are due (and lets the timer close the one it was filling).
    if (firstCopy && fr.index === fr.msg.frags.length - 1) {
      for (const frame of this.enc.endMessage(now, cls, this.s.repair.fecLoss(now, this.s.primaryPath(), cls))) {
        this.repairs.push({ frame, priority: fr.msg.stream.options.priority });
      }
    }
  }

  /** Receiver: a protected DATA frame from the wire; yields what it lets the decoder recover. */
  onSource(f: DataFrame, deliver: (f: DataFrame) => void): void {
    if (!(f.flags & DATA_FLAG_FEC)) return;
    const w = new Writer(this.scratch);
    encodeData(w, f);
    for (const rec of this.dec.onSource(f.fecGroup, f.fecIndex, this.scratch.subarray(0, w.pos))) this.recovered1(rec, deliver);
  }

  onRepair(f: FecRepairFrame, deliver: (f: DataFrame) => void): void {
    for (const enc of this.dec.onRepair(f)) this.recovered1(enc, deliver);
  }

  private recovered1(encoded: Uint8Array, deliver: (f: DataFrame) => void): void {
    try {
      const r = new Reader(encoded);
      const t = r.u8();
      if (!isDataType(t)) return this.s.drop('fec-bad-frame');
      deliver(decodeData(r, t));
    } catch {
      this.s.drop('fec-bad-frame');
    }
  }
}
