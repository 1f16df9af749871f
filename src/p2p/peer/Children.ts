/**
 * The super node's side of the push tree: which children it pushes which substreams to, within
 * the push slots its upload offers (pushSlots) and a per-substream cap; subscriptions are
 * leases, so a child that stops renewing for 12 s is dropped and its slots come back. A demoted
 * (or moved) super node tells the children of what it no longer carries with a SubAck.
 */
import { pushSlots, type P2pConfig } from '../config.js';
import { Msg, type SliceMsg } from '../messages.js';
import type { Entry } from '../SliceBuffer.js';
import type { Outbox } from './Outbox.js';

export class Children {
  /** Substream bit mask this peer is a super node for (0: an ordinary peer). */
  role = 0;
  /** child id -> substreams pushed to it (bit mask). */
  readonly map = new Map<number, number>();
  /** When each child last renewed its subscription. */
  private readonly seen = new Map<number, number>();

  constructor(
    private readonly c: P2pConfig,
    private readonly uploadKbps: number,
    private readonly io: Outbox,
  ) {}

  /** Grants what the role and the free slots allow of `mask`, and says so (unless nothing was asked or held). */
  onSubscribe(now: number, from: number, mask: number): void {
    this.seen.set(from, now);
    const old = this.map.get(from) ?? 0;
    let want = mask & this.role;
    const slots = pushSlots(this.c, this.uploadKbps);
    let used = 0;
    const perSub = new Array(this.c.substreams).fill(0);
    for (const [id, cm] of this.map) {
      if (id === from) continue;
      for (let k = 0; k < this.c.substreams; k++) if (cm & (1 << k)) { used++; perSub[k]++; }
    }
    for (let k = 0; k < this.c.substreams; k++) {
      if (!(want & (1 << k))) continue;
      if (used >= slots || perSub[k] >= this.c.maxChildrenPerSubstream) want &= ~(1 << k);
      else used++;
    }
    if (want) this.map.set(from, want);
    else this.map.delete(from);
    if (mask !== 0 || old !== 0) this.io.send(from, { t: Msg.SubAck, mask: want });
  }

  /** Promotion, demotion or a move: children of what is no longer carried must find another parent. */
  setRole(mask: number): void {
    this.role = mask;
    for (const [child, cm] of this.map) {
      const keep = cm & mask;
      if (keep !== cm) {
        if (keep) this.map.set(child, keep);
        else this.map.delete(child);
        this.io.send(child, { t: Msg.SubAck, mask: keep });
      }
    }
  }

  /** Pushes a slice of substream k on to the children, once, while it is fresh enough to help them. */
  forward(now: number, k: number, e: Entry, m: SliceMsg): void {
    if (this.role & (1 << k) && !e.forwarded && now - m.captureMs < this.c.targetDelayMs / 2) {
      e.forwarded = true;
      const fwd: SliceMsg = { t: Msg.Slice, seq: m.seq, captureMs: m.captureMs, key: m.key, pushed: true, payload: m.payload };
      for (const [child, mask] of this.map) if (mask & (1 << k)) this.io.send(child, fwd);
    }
  }

  /** Drops children that stopped renewing (gone without a word). */
  expire(now: number): void {
    for (const [child, seen] of this.seen) {
      if (now - seen > 12_000) {
        this.seen.delete(child);
        this.map.delete(child);
      }
    }
  }

  /** Stops pushing to `id` (dropped or silent as a neighbour). */
  remove(id: number): void {
    this.map.delete(id);
  }

  /** Forgets `id` altogether (it said Bye). */
  gone(id: number): void {
    this.map.delete(id);
    this.seen.delete(id);
  }
}
