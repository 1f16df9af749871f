/**
 * Media frames waiting to go out again on other paths (redundant and auto bonding). A copy is
 * worthless once its message is delivered (acked) or past its deadline, or when its path goes
 * down; it waits for its own path's window and pacer only.
 */
import { DATA_FEC_OVERHEAD } from '../wire/data.js';
import { PROTECTED_HEADER_LEN } from '../wire/header.js';
import type { DataFrame } from '../wire/data.js';
import type { FecRepairFrame } from '../wire/fecRepair.js';
import { TAG_LEN } from './crypto/PacketProtection.js';
import { canTake, hasWindow } from './Bonding.js';
import type { Path } from './Path.js';
import type { OutFragment } from './SendQueue.js';

export interface Copy {
  path: Path;
  frag: OutFragment | undefined;
  frame: DataFrame | FecRepairFrame;
  /** Worthless after this (the message's deadline), ms. */
  until: number;
}

/** Bounded: past this many, new copies are not made (the originals still go). */
const MAX_COPIES = 1024;

export class CopyQueue {
  private readonly copies: Copy[] = [];

  get length(): number {
    return this.copies.length;
  }

  push(c: Copy): void {
    if (this.copies.length < MAX_COPIES) this.copies.push(c);
  }

  /** Payload bytes waiting (they count in the sender's backlog). */
  bytes(): number {
    let n = 0;
    for (const c of this.copies) n += c.frame.kind === 'data' ? c.frame.payload.length : c.frame.symbol.length;
    return n;
  }

  dropPath(path: Path): void {
    for (let i = this.copies.length - 1; i >= 0; i--) if (this.copies[i]!.path === path) this.copies.splice(i, 1);
  }

  /** The next copy some path can take now; expired, delivered and oversized copies are dropped on the way. */
  take(now: number): Copy | undefined {
    for (let i = 0; i < this.copies.length; i++) {
      const c = this.copies[i]!;
      const m = c.frag?.msg;
      if (c.until <= now || !c.path.usable || (m && (m.done || m.acked[c.frag!.index]))) {
        this.copies.splice(i--, 1);
        continue;
      }
      const size = c.frame.kind === 'data' ? c.frame.payload.length + DATA_FEC_OVERHEAD : c.frame.symbol.length + 11;
      if (size + PROTECTED_HEADER_LEN + TAG_LEN > c.path.mtu.mtu) {
        this.copies.splice(i--, 1);
        continue;
      }
      if (!canTake(now, c.path, size + 40)) continue;
      this.copies.splice(i, 1);
      return c;
    }
    return undefined;
  }

  /** When a copy could leave or expire (looks at the first 64: the wake-up need not be exact). */
  wakeAt(now: number): number {
    let t = Infinity;
    for (let i = 0; i < this.copies.length && i < 64; i++) {
      const c = this.copies[i]!;
      t = Math.min(t, c.until);
      if (c.path.usable && hasWindow(c.path)) t = Math.min(t, c.path.pacer.nextSendTime(now, c.path.mtu.mtu + 60));
    }
    return t;
  }
}
